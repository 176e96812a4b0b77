"""Store the log records of an OTLP logs request as events of their spans (`/otlp/v1/logs`, gRPC LogsService).

Each record with a span context becomes an event of its span (`traces.otlp_logs`) and goes through the same
capture as a span's own events (`payloads.capture`: redacted, the content of GenAI events such as
`gen_ai.client.inference.operation.details` or `gen_ai.user.message` moved to the payload store under the
policy's `payload_events`, the event keeping `tracefoundry.payload.<role>_ref`). Its refs are named
`log_record:<key>`, so that several records of one span keep apart.

Records arrive before or after their span. Under the traces' row locks (taken as span ingest takes them), a
new record is stored as pending and at once attached if its span is stored (`traces.log_records`); otherwise
span ingest attaches it when the span arrives. A record already received (same key) changes nothing, so a
re-sent request is idempotent. Pending records are bounded (OTLP_LOGS_PENDING_MAX_RECORDS: beyond it, records
whose span is not stored are rejected) and expire after OTLP_LOGS_PENDING_MINUTES (retention, or when the
store is full).

Known limits: `tracefoundry.payload.<role>_ref` attributes that a client put on a log record itself are kept
as attributes but not linked; a record never changes its span's summary or mapped columns.
"""

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.crypto import salted_hmac
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from payloads.contracts import OtlpSpan
from payloads.ingest import Owner, PayloadBatch
from payloads.redaction import DROPPED_ATTRIBUTES_KEY
from traces import otlp_logs
from traces.contracts import LogIngestResult
from traces.ingest import lock_traces
from traces.log_records import attach_pending
from traces.models import Span, SpanLogRecord, Trace, TraceSource

_KEY_SALT = "traces.log_records"
_MAX_REJECTION_REASONS = 5


def ingest_logs(request: ExportLogsServiceRequest) -> LogIngestResult:
    """Store every record that has a span context; count and describe the ones that cannot be placed."""
    payloads = PayloadBatch()
    records: dict[Owner, SpanLogRecord] = {}
    rejections: list[otlp_logs.RejectedLogRecord] = []
    now = timezone.now()
    for item in otlp_logs.iter_log_events(request):
        if isinstance(item, otlp_logs.RejectedLogRecord):
            rejections.append(item)
            continue
        key = salted_hmac(_KEY_SALT, item.record, algorithm="sha256").hexdigest()
        owner = (item.trace_id, item.span_id, key)
        if owner not in records:
            records[owner] = _captured_record(payloads, item, key, owner, now)
    refused: list[SpanLogRecord] = []
    if records:
        trace_ids = sorted({record.trace_id for record in records.values()})
        payloads.store_blobs()  # content-addressed, so storing before the transaction is idempotent
        try:
            refused = _write_records(payloads, list(records.values()), trace_ids, now)
        except BaseException:
            payloads.discard_unstored()  # refused: no bytes stay behind without a row
            raise
    rejections += [otlp_logs.RejectedLogRecord(r.trace_id, r.span_id, _PENDING_FULL) for r in refused]
    return LogIngestResult(
        accepted_records=len(records) - len(refused),
        rejected_records=len(rejections),
        error_message=_rejection_message(rejections),
    )


def _write_records(
    payloads: PayloadBatch, records: list[SpanLogRecord], trace_ids: list[str], now: datetime
) -> list[SpanLogRecord]:
    with transaction.atomic():
        lock_traces(trace_ids, TraceSource.OTLP)
        payloads.write_refs(set(), _no_spans)  # blob rows only: refs are linked when a record is attached
        refused = _store_new_records(records, now)
        attach_pending(trace_ids)
        # Rows made only to hold the lock go again: a trace exists once one of its spans does.
        Trace.objects.filter(trace_id__in=trace_ids).filter(
            ~Exists(Span.objects.filter(trace_id=OuterRef("pk")))
        ).delete()
    return refused


_PENDING_FULL = "its span is not stored and the store of records waiting for their span is full"


def _captured_record(
    payloads: PayloadBatch, item: otlp_logs.LogEvent, key: str, owner: Owner, now: datetime
) -> SpanLogRecord:
    """The record as a pending row: its event redacted and its content taken out, as a span's own events are."""
    attribute = f"log_record:{key[:16]}"
    captured = payloads.capture(_carrier(item), owner, attribute)
    [event] = captured.events
    dropped = captured.attributes.get(DROPPED_ATTRIBUTES_KEY)
    if dropped:
        event = {**event, "attributes": {**event["attributes"], DROPPED_ATTRIBUTES_KEY: dropped}}
    [(role, _, sha256), *_] = payloads.refs_of(owner) or [("", "", "")]
    return SpanLogRecord(
        trace_id=item.trace_id,
        span_id=item.span_id,
        record_key=key,
        event=event,
        payload_role=role,
        payload_attribute=attribute if sha256 else "",
        payload_sha256=sha256,
        received_at=now,
    )


def _carrier(item: otlp_logs.LogEvent) -> OtlpSpan:
    # A span holding only the record's event: capture then treats it exactly as a span's own event.
    return OtlpSpan(item.trace_id, item.span_id, "", "", 0, 0, 0, 0, "", "", 0, {}, {}, [item.event], [], {})


def _no_spans(owners: set[Owner]) -> dict[Owner, int]:
    return {}


def _store_new_records(records: list[SpanLogRecord], now: datetime) -> list[SpanLogRecord]:
    """Insert the records not received before (the caller holds their traces' locks); the ones refused because
    the pending store is full."""
    trace_ids = {record.trace_id for record in records}
    known = set(
        SpanLogRecord.objects.filter(
            trace_id__in=trace_ids, record_key__in={record.record_key for record in records}
        ).values_list("trace_id", "span_id", "record_key")
    )
    new = [record for record in records if (record.trace_id, record.span_id, record.record_key) not in known]
    stored_spans = set(
        Span.objects.filter(trace_id__in=trace_ids, span_id__in={record.span_id for record in new}).values_list(
            "trace_id", "span_id"
        )
    )
    waiting = [record for record in new if (record.trace_id, record.span_id) not in stored_spans]
    refused: list[SpanLogRecord] = []
    if waiting:
        room = _pending_room(now)
        if len(waiting) > room:
            refused = waiting[room:]
    refused_ids = {id(record) for record in refused}
    SpanLogRecord.objects.bulk_create([record for record in new if id(record) not in refused_ids])
    return refused


def _pending_room(now: datetime) -> int:
    limit = settings.OTLP_LOGS_PENDING_MAX_RECORDS
    pending = SpanLogRecord.objects.filter(attached_at__isnull=True)
    if pending.count() >= limit:
        expire_pending_records(now)
    return max(limit - pending.count(), 0)


def expire_pending_records(now: datetime | None = None) -> int:
    """Delete records that waited longer than OTLP_LOGS_PENDING_MINUTES for their span; the number deleted."""
    cutoff = (now or timezone.now()) - timedelta(minutes=settings.OTLP_LOGS_PENDING_MINUTES)
    return SpanLogRecord.objects.filter(attached_at__isnull=True, received_at__lt=cutoff).delete()[0]


def _rejection_message(rejections: list[otlp_logs.RejectedLogRecord]) -> str:
    if not rejections:
        return ""
    reasons = Counter(r.reason for r in rejections)
    described = "; ".join(
        f"{count} record(s): {reason}" for reason, count in reasons.most_common(_MAX_REJECTION_REASONS)
    )
    return f"{len(rejections)} log record(s) rejected: {described}"

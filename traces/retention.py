"""Retention: expire trace metadata past RETENTION_METADATA_DAYS and payloads past RETENTION_PAYLOAD_DAYS.

Every function works in bounded batches (RETENTION_BATCH_SIZE rows), each batch its own short transaction, so
a large backlog never holds a table lock for long and ingest keeps flowing between batches.

Trace metadata: a trace whose summary start is older than the cutoff loses its spans and its summary row.
Traces are taken oldest first and whole, as many as fit in one batch of spans; their rows are locked in
trace-id order (the order ingest locks them in, so the two never deadlock) and the spans and the summary go in
one transaction, so no reader ever sees a summary without its spans. A trace with more spans than one batch
is trimmed newest-span-first over several transactions with its summary recomputed after each (its start,
held by its oldest span, stays, so the next batch picks it up again) and its row goes with its last spans.

Payloads: the payload refs of spans older than the payload cutoff are deleted in batches; the span keeps its
`tracefoundry.payload.<role>_ref` attribute, so the trace still opens and shows that payload as expired (a
ref attribute without a ref row). Then blobs that nothing references any more (for whichever reason) leave
their table and, unless their bytes were inline in their row, the payload storage, in batches. Payload expiry
changes no trace summary: summaries hold no payload data.

Known limits: the age is judged on the trace's start time; a span arriving late for an expired trace creates
the trace anew, and it expires again on the next run. An ingest batch racing the very transaction that deletes
its trace fails on the spans' foreign key and is answered with an error, so the sender retries it.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, ProtectedError
from django.utils import timezone

from payloads.models import PayloadBlob, SpanPayloadRef
from payloads.storage import payload_storage
from traces.ingest import recompute_summaries
from traces.models import Span, Trace

_NANOS_PER_SECOND = 1_000_000_000
# An unreferenced blob younger than this is left alone: an ingest may be about to reference it again.
UNREFERENCED_BLOB_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class MetadataExpiry:
    """What metadata retention deleted (or, in a dry run, would delete)."""

    cutoff: datetime
    traces_deleted: int
    spans_deleted: int
    batches: int
    dry_run: bool


@dataclass(frozen=True)
class ScheduledTask:
    name: str
    task: str
    every_minutes: float


@dataclass(frozen=True)
class RetentionPolicy:
    """Retention as configured (settings), for the admin page."""

    metadata_days: float
    payload_days: float
    batch_size: int
    interval_minutes: float
    unreferenced_grace: timedelta
    broker: str
    schedule: tuple[ScheduledTask, ...]


def configured_policy() -> RetentionPolicy:
    schedule = tuple(
        ScheduledTask(name, entry["task"], float(entry["schedule"]) / 60)
        for name, entry in sorted(settings.CELERY_BEAT_SCHEDULE.items())
    )
    # Never the broker URL itself: it may carry a password.
    broker = "Redis (REDIS_URL)" if settings.REDIS_URL else "embedded: files under VAR_DIR, no server"
    return RetentionPolicy(
        metadata_days=settings.RETENTION_METADATA_DAYS,
        payload_days=settings.RETENTION_PAYLOAD_DAYS,
        batch_size=settings.RETENTION_BATCH_SIZE,
        interval_minutes=settings.RETENTION_INTERVAL_MINUTES,
        unreferenced_grace=UNREFERENCED_BLOB_GRACE,
        broker=broker,
        schedule=schedule,
    )


def cutoff_for(days: float, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=days)


def unix_nanos(moment: datetime) -> int:
    return int(moment.timestamp()) * _NANOS_PER_SECOND + moment.microsecond * 1000


def expire_trace_metadata(
    *,
    now: datetime | None = None,
    days: float | None = None,
    batch_size: int | None = None,
    dry_run: bool = False,
    max_seconds: float | None = None,
    max_batches: int | None = None,
) -> MetadataExpiry:
    """Delete every trace (spans and summary) whose start is older than `days` before `now`.

    `max_seconds` and `max_batches` stop between batches once reached, so a scheduled run never overlaps the
    next; whatever is left is expired by the next run.
    """
    cutoff = cutoff_for(settings.RETENTION_METADATA_DAYS if days is None else days, now)
    cutoff_ns = unix_nanos(cutoff)
    size = batch_size or settings.RETENTION_BATCH_SIZE
    if dry_run:
        expired = Trace.objects.filter(start_unix_nano__lt=cutoff_ns)
        spans = Span.objects.filter(trace__start_unix_nano__lt=cutoff_ns).count()
        return MetadataExpiry(cutoff, expired.count(), spans, 0, dry_run=True)
    started = time.monotonic()
    traces_deleted = spans_deleted = batches = 0
    while _within(started, max_seconds, batches, max_batches):
        traces, spans = _expire_one_batch(cutoff_ns, size)
        if traces == spans == 0:
            break
        traces_deleted += traces
        spans_deleted += spans
        batches += 1
    return MetadataExpiry(cutoff, traces_deleted, spans_deleted, batches, dry_run=False)


def _within(started: float, max_seconds: float | None, batches: int, max_batches: int | None) -> bool:
    in_time = max_seconds is None or time.monotonic() - started < max_seconds
    return in_time and (max_batches is None or batches < max_batches)


def _expire_one_batch(cutoff_ns: int, size: int) -> tuple[int, int]:
    """Expire the oldest traces that fit in one batch of `size` spans; return (traces, spans) deleted."""
    oldest = list(
        Trace.objects.filter(start_unix_nano__lt=cutoff_ns)
        .order_by("start_unix_nano", "trace_id")
        .values_list("trace_id", "span_count")[:size]
    )
    if not oldest:
        return 0, 0
    chosen: list[str] = []
    planned_spans = 0
    for trace_id, span_count in oldest:
        if chosen and planned_spans + span_count > size:
            break
        chosen.append(trace_id)
        planned_spans += span_count
    with transaction.atomic():
        locked = list(
            Trace.objects.select_for_update()
            .filter(trace_id__in=chosen, start_unix_nano__lt=cutoff_ns)
            .order_by("trace_id")
            .values_list("trace_id", flat=True)
        )
        if len(locked) == 1 and planned_spans > size:
            return _trim_large_trace(locked[0], size)
        spans_deleted = _delete_spans(Span.objects.filter(trace_id__in=locked).values_list("id", flat=True))
        traces_deleted = _delete_traces(locked)
    return traces_deleted, spans_deleted


def _trim_large_trace(trace_id: str, size: int) -> tuple[int, int]:
    """Delete the newest `size` spans of one trace (caller holds its row lock); drop the row with its last."""
    newest = list(
        Span.objects.filter(trace_id=trace_id)
        .order_by("-start_unix_nano", "-id")
        .values_list("id", flat=True)[: size + 1]
    )
    if len(newest) <= size:
        spans_deleted = _delete_spans(newest)
        traces_deleted = _delete_traces([trace_id])
        return traces_deleted, spans_deleted
    spans_deleted = _delete_spans(newest[:size])
    recompute_summaries([trace_id])
    return 0, spans_deleted


def _delete_spans(span_ids: Iterable[int]) -> int:
    ids = list(span_ids)
    if not ids:
        return 0
    return Span.objects.filter(id__in=ids).delete()[1].get(Span._meta.label, 0)


def _delete_traces(trace_ids: list[str]) -> int:
    return Trace.objects.filter(trace_id__in=trace_ids).delete()[1].get(Trace._meta.label, 0)


@dataclass(frozen=True)
class PayloadExpiry:
    """What payload retention deleted (or, in a dry run, would delete)."""

    cutoff: datetime
    refs_deleted: int
    blobs_deleted: int
    batches: int
    dry_run: bool


def expire_payloads(
    *,
    now: datetime | None = None,
    days: float | None = None,
    batch_size: int | None = None,
    dry_run: bool = False,
    max_seconds: float | None = None,
    max_batches: int | None = None,
    unreferenced_grace: timedelta = UNREFERENCED_BLOB_GRACE,
) -> PayloadExpiry:
    """Delete the payload refs of spans older than `days`, then the blobs nothing references any more.

    Blobs are swept whatever made them unreferenced (this, or metadata retention deleting spans), once their
    `last_referenced_at` is older than `unreferenced_grace`.
    """
    current = now or timezone.now()
    cutoff = cutoff_for(settings.RETENTION_PAYLOAD_DAYS if days is None else days, current)
    cutoff_ns = unix_nanos(cutoff)
    grace_cutoff = current - unreferenced_grace
    size = batch_size or settings.RETENTION_BATCH_SIZE
    old_refs = SpanPayloadRef.objects.filter(
        # The trace condition is implied by the span's (a trace starts with its oldest span); it lets the
        # database find old spans through the traces' start-time index.
        span__trace__start_unix_nano__lt=cutoff_ns,
        span__start_unix_nano__lt=cutoff_ns,
    )
    if dry_run:
        young_refs = SpanPayloadRef.objects.filter(blob=OuterRef("pk"), span__start_unix_nano__gte=cutoff_ns)
        sweepable = PayloadBlob.objects.filter(~Exists(young_refs), last_referenced_at__lt=grace_cutoff)
        return PayloadExpiry(cutoff, old_refs.count(), sweepable.count(), 0, dry_run=True)
    started = time.monotonic()
    refs_deleted = blobs_deleted = batches = 0
    while _within(started, max_seconds, batches, max_batches):
        with transaction.atomic():
            ids = list(old_refs.order_by().values_list("id", flat=True)[:size])
            deleted = SpanPayloadRef.objects.filter(id__in=ids).delete()[0] if ids else 0
        if not deleted:
            break
        refs_deleted += deleted
        batches += 1
    while _within(started, max_seconds, batches, max_batches):
        swept = _sweep_unreferenced_blobs(grace_cutoff, size)
        if swept is None:
            break
        blobs_deleted += swept
        batches += 1
    return PayloadExpiry(cutoff, refs_deleted, blobs_deleted, batches, dry_run=False)


def _sweep_unreferenced_blobs(grace_cutoff: datetime, size: int) -> int | None:
    """Delete one batch of unreferenced blobs (rows, and the storage objects of those not inline); None when
    there is none left.

    Why this order: the rows are locked, deleted and the reference constraint checked before any object
    leaves the storage, and the objects go before the commit. An ingest that references one of these blobs
    meanwhile either committed first (the constraint check fails, this batch rolls back and nothing is
    removed) or waits on the row lock and then fails on the missing row, so its sender retries and stores the
    bytes again. A blob row therefore never outlives its bytes because of retention.
    """
    refs = SpanPayloadRef.objects.filter(blob=OuterRef("pk"))
    try:
        with transaction.atomic():
            candidates = list(
                PayloadBlob.objects.select_for_update(skip_locked=True)
                .filter(~Exists(refs), last_referenced_at__lt=grace_cutoff)
                .order_by("sha256")
                .values_list("sha256", "storage_key")[:size]
            )
            if not candidates:
                return None
            deleted = PayloadBlob.objects.filter(sha256__in=[sha for sha, _ in candidates]).delete()[0]
            connection.check_constraints(table_names=[SpanPayloadRef._meta.db_table])
            storage = payload_storage()
            for key in (key for _, key in candidates if key):  # an inline blob's bytes went with its row
                storage.delete(key)
    except (IntegrityError, ProtectedError):
        # A reference arrived after the candidates were chosen; the next batch re-reads what is unreferenced.
        return 0
    return deleted

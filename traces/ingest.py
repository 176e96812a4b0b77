"""Write decoded OTLP spans: one insert of the new spans and one summary update per touched trace, per batch.

Concurrency: the touched trace rows are created if missing and locked, in trace-id order (so two batches never
deadlock), before anything else is read or written. Under those locks a batch looks up only its own keys (which
of its spans, their parents, and the traces' top spans are stored, and how many stored spans have a parent
among its new spans), inserts the spans not stored yet (a re-sent batch changes nothing) and folds them into
each stored summary (`traces.summary`). Concurrent batches of one trace are serialised, none loses counts, and
a batch costs the same whether its trace holds ten spans or a million.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from payloads.contracts import OtlpSpan, RejectedSpan
from payloads.ingest import PayloadBatch
from traces import otlp, semconv, span_limits, summary
from traces.contracts import IngestResult
from traces.log_records import attach_pending
from traces.models import Span, StatusCode, Trace, TraceSource
from traces.pricing import PriceTable, configured_price_table
from traces.span_insert import SpanRow, insert_spans
from traces.stored_spans import children_counts, stored_spans

_MAX_REJECTION_REASONS = 5
# Session and user ids are stored up to this many characters (the columns' length).
_NAMED_ID_CHARS = 255


@dataclass
class PreparedBatch:
    """The rows an OTLP request would write (redacted, payloads swapped for refs), before anything is written."""

    spans: dict[tuple[str, str], SpanRow]
    rejections: list[otlp.RejectedSpan]
    payloads: PayloadBatch


def ingest_request(
    request: ExportTraceServiceRequest, source: str = TraceSource.OTLP, environment: str | None = None
) -> IngestResult:
    """Store every valid span of an OTLP request; count and describe the ones that cannot be stored."""
    return write_batch(prepare_request(request, environment), source)


def prepare_request(request: ExportTraceServiceRequest, environment: str | None = None) -> PreparedBatch:
    """Decode, redact and map every span of the request; no I/O."""
    prices = configured_price_table()
    batch = PreparedBatch(spans={}, rejections=[], payloads=PayloadBatch())
    for item in otlp.iter_spans(request):
        if isinstance(item, RejectedSpan):
            batch.rejections.append(item)
        else:
            item = batch.payloads.capture(item)  # redacted, payloads swapped for refs, before anything is written
            batch.spans.setdefault((item.trace_id, item.span_id), span_row(item, prices, environment))
    return batch


def write_batch(batch: PreparedBatch, source: str) -> IngestResult:
    spans, rejections = batch.spans, batch.rejections
    trace_ids = sorted({trace_id for trace_id, _ in spans})
    if spans:
        write_spans(list(spans.values()), trace_ids, source, batch.payloads)
    noted = [span for span in spans.values() if span_limits.PROBLEMS_ATTRIBUTE in span["attributes"]]
    return IngestResult(
        accepted_spans=len(spans),
        rejected_spans=len(rejections),
        error_message="; ".join(m for m in (_rejection_message(rejections), _problems_message(noted)) if m),
        trace_ids=tuple(trace_ids),
    )


def span_row(span: OtlpSpan, prices: PriceTable, environment: str | None = None) -> SpanRow:
    """The `spans` row of a decoded span as column values (a dict: model instances cost more to build)."""
    meaning = semconv.map_span(span.name, span.attributes, span.events, span.status_code, span.status_message)
    problems = list(meaning.problems)
    cost = meaning.stated_cost_usd
    if cost is None:
        cost = span_limits.bounded_cost(prices.cost_usd(meaning.model, meaning.input_tokens, meaning.output_tokens))
        if cost is None:
            problems.append(f"cost from the price table: over {span_limits.MAX_COST_USD:,} USD, not counted")
    kind, status_code = span.kind, span.status_code
    if kind not in span_limits.SPAN_KINDS:
        problems.append("kind: not an OTLP span kind (0 to 5), stored as 0 (unspecified)")
        kind = 0
    if status_code not in span_limits.STATUS_CODES:
        problems.append("status.code: not an OTLP status code (0 to 2), stored as 0 (unset)")
        status_code = StatusCode.UNSET
    attributes = span.attributes
    if problems:
        attributes = {**attributes, span_limits.PROBLEMS_ATTRIBUTE: problems}
    return dict(
        trace_id=span.trace_id,
        span_id=span.span_id,
        parent_span_id=span.parent_span_id,
        name=span.name,
        kind=kind,
        category=meaning.category,
        service=semconv.service_of(span.resource_attributes),
        environment=semconv.environment_of(span.resource_attributes) if environment is None else environment,
        start_unix_nano=span.start_unix_nano,
        end_unix_nano=span.end_unix_nano,
        duration_ns=span.end_unix_nano - span.start_unix_nano,
        status_code=status_code,
        status_message=span.status_message,
        trace_state=span.trace_state,
        flags=span.flags,
        attributes=attributes,
        resource_attributes=span.resource_attributes,
        events=span.events,
        links=span.links,
        scope=span.scope,
        otlp_extra=span.otlp_extra,
        operation_name=meaning.operation_name,
        model=meaning.model,
        provider=meaning.provider,
        tool_name=meaning.tool_name,
        input_tokens=meaning.input_tokens,
        output_tokens=meaning.output_tokens,
        total_tokens=meaning.total_tokens,
        cost_usd=cost or Decimal(0),
        retry_count=meaning.retry_count,
        is_timeout=meaning.is_timeout,
    )


def write_spans(spans: list[SpanRow], trace_ids: list[str], source: str, payloads: PayloadBatch) -> None:
    payloads.store_blobs()  # content-addressed, so storing before the transaction is idempotent
    try:
        _write_spans_locked(spans, trace_ids, source, payloads)
    except BaseException:
        payloads.discard_unstored()  # refused: no bytes stay behind without a row
        raise


def _write_spans_locked(spans: list[SpanRow], trace_ids: list[str], source: str, payloads: PayloadBatch) -> None:
    with transaction.atomic():
        traces = lock_traces(trace_ids, source)
        keys = {(span["trace_id"], span["span_id"]) for span in spans}
        parents = {(span["trace_id"], span["parent_span_id"]) for span in spans if span["parent_span_id"]} - keys
        tops = {(trace_id, trace["top_span_id"]) for trace_id, trace in traces.items() if trace["top_span_id"]}
        # Only traces with spans stored are asked about, and only within their time range: every stored span of a
        # trace starts between its summary's start and end, so a partitioned table reads just those days.
        stored_window = _time_window(trace for trace in traces.values() if trace["span_count"])
        lookups = {key for key in keys | parents | tops if traces[key[0]]["span_count"]}
        stored = stored_spans(lookups, stored_window)
        new_spans = [span for span in spans if (span["trace_id"], span["span_id"]) not in stored]
        new_keys = {(span["trace_id"], span["span_id"]) for span in new_spans}
        # Only a trace with orphans stored can have a stored span whose parent is new.
        adopted = children_counts((key for key in new_keys if traces[key[0]]["orphan_count"]), stored_window)
        insert_spans(new_spans)
        starts = [span["start_unix_nano"] for span in new_spans]
        new_window = (min(starts), max(starts)) if starts else None
        payloads.write_refs(new_keys, lambda owners: span_pks(owners, new_window))
        if not new_spans:
            return  # a re-sent batch: nothing changes
        attach_pending(trace_ids)  # log records that arrived before their span
        new_by_trace: dict[str, list[SpanRow]] = defaultdict(list)
        for span in new_spans:
            new_by_trace[span["trace_id"]].append(span)
        legacy = [t for t in new_by_trace if traces[t]["span_count"] and not traces[t]["top_span_id"]]
        rebuilt = _summaries_from_stored_spans(legacy)
        updated = []
        for trace_id, added in new_by_trace.items():
            trace = traces[trace_id]
            if trace_id in rebuilt:
                updated_summary = rebuilt[trace_id]
            else:
                orphans = sum(1 for s in added if s["parent_span_id"] and _is_orphan(s, stored, new_keys))
                top = stored.get((trace_id, trace["top_span_id"]))
                updated_summary = summary.add_spans(trace, top, added, orphans - adopted[trace_id])
            words = set().union(*(summary.search_words(span) for span in added))
            text, left_out = summary.merge_search_text(trace["search_text"], trace["search_text_left_out"], words)
            updated.append(
                {
                    **updated_summary,
                    "search_text": text,
                    "search_text_left_out": left_out,
                    "session_id": trace["session_id"] or _named_id_of(added, settings.SESSION_ID_ATTRIBUTES),
                    "user_id": trace["user_id"] or _named_id_of(added, settings.USER_ID_ATTRIBUTES),
                }
            )
        _write_summaries(updated, _INGEST_FIELDS, ingested=True)


def span_pks(keys: set[tuple[str, ...]], within: tuple[int, int] | None = None) -> dict[tuple[str, ...], int]:
    """Row ids of stored spans, by (trace_id, span_id): one query for a whole batch (`within`: their start times
    lie in this range)."""
    spans = Span.objects.filter(trace_id__in={key[0] for key in keys}, span_id__in={key[1] for key in keys})
    if within is not None:
        spans = spans.filter(start_unix_nano__range=within)
    return {(trace_id, span_id): pk for pk, trace_id, span_id in spans.values_list("pk", "trace_id", "span_id")}


def _time_window(rows: Iterable[dict[str, Any]]) -> tuple[int, int] | None:
    """From the earliest start to the latest end of `rows` (None for none)."""
    bounds = [(row["start_unix_nano"], row["end_unix_nano"]) for row in rows]
    if not bounds:
        return None
    return min(start for start, _ in bounds), max(end for _, end in bounds)


def _is_orphan(span: SpanRow, stored: dict, new_keys: set[tuple[str, str]]) -> bool:
    parent = (span["trace_id"], span["parent_span_id"])
    return parent not in stored and parent not in new_keys


# Written by ingest beside the summary: they come from attributes, which a recompute from spans does not read.
_INGEST_FIELDS = ("search_text", "search_text_left_out", "session_id", "user_id")
_LOCKED_FIELDS = ("trace_id", *summary.FIELDS, *_INGEST_FIELDS)


def lock_traces(trace_ids: list[str], source: str) -> dict[str, dict[str, Any]]:
    """Create the missing trace rows and lock all of them; their summaries and search texts.

    Every writer of a trace's spans locks its row first, in trace-id order: once locked, what is read after is
    all that is stored, and nobody else adds spans to these traces until we commit. A row that retention deleted
    between the insert and the lock is created again, so no span is ever stored without its trace.
    """
    while True:
        _create_missing_traces(trace_ids, source)
        locked = Trace.objects.select_for_update().filter(trace_id__in=trace_ids).order_by("trace_id")
        traces = {row["trace_id"]: row for row in locked.values(*_LOCKED_FIELDS)}
        if len(traces) == len(trace_ids):
            return traces
        _forget_keys_without_traces(sorted(set(trace_ids) - traces.keys()))


def _forget_keys_without_traces(trace_ids: list[str]) -> None:
    """Postgres: a key whose summary is gone would keep its trace from ever being created again (every path that
    deletes a summary deletes its key; this is the guard should one not)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM trace_keys k WHERE k.trace_id = ANY(%s) "
                "AND NOT EXISTS (SELECT 1 FROM traces t WHERE t.trace_id = k.trace_id)",
                [trace_ids],
            )


def _create_missing_traces(trace_ids: list[str], source: str) -> None:
    if connection.vendor != "postgresql":
        Trace.objects.bulk_create(
            [Trace(trace_id=trace_id, source=source) for trace_id in trace_ids], ignore_conflicts=True
        )
        return
    # One row of defaults for all new traces: bulk_create would prepare every column of every row in Python, a
    # tenth of a batch's CPU.
    now = timezone.now()
    stated = {"source": source, "ingested_at": now, "updated_at": now, "last_ingested_at": now}
    fields = [field for field in Trace._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(cast(str, field.column)) for field in fields)
    # `traces` is partitioned by day (`traces.partitions`), so its trace ids are kept unique by `trace_keys`: a
    # summary is inserted only for the keys this statement inserted.
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH new AS (INSERT INTO trace_keys (trace_id) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING "  # noqa: S608 (the model's columns)
            f"RETURNING trace_id) INSERT INTO traces (trace_id, {columns}) "
            f"SELECT trace_id, {', '.join(['%s'] * len(fields))} FROM new",
            [
                trace_ids,
                *(
                    field.get_db_prep_save(
                        stated[field.attname] if field.attname in stated else field.get_default(), connection
                    )
                    for field in fields
                ),
            ],
        )


def recompute_summaries(trace_ids: Iterable[str]) -> None:
    """Rebuild the summary of each trace from all its stored spans (callers hold the trace rows' locks)."""
    _write_summaries(list(_summaries_from_stored_spans(trace_ids).values()), (), ingested=False)


def _summaries_from_stored_spans(trace_ids: Iterable[str]) -> dict[str, summary.Summary]:
    """Reads every span of the traces: for retention's trims and for traces summarised before summaries were
    kept incrementally (no `top_span_id`), never for a trace ingest has summarised."""
    trace_ids = list(trace_ids)
    if not trace_ids:
        return {}
    spans_by_trace: dict[str, list[SpanRow]] = defaultdict(list)
    rows = Span.objects.filter(trace_id__in=trace_ids).values("trace_id", *summary.SPAN_COLUMNS)
    for row in rows:
        spans_by_trace[row["trace_id"]].append(row)
    return {
        trace_id: {**summary.from_scratch(spans), "trace_id": trace_id} for trace_id, spans in spans_by_trace.items()
    }


def _write_summaries(summaries: list[summary.Summary], extra_fields: tuple[str, ...], *, ingested: bool) -> None:
    """`ingested`: new spans arrived (retention dates traces by this; its own recomputes must not)."""
    fields = [
        *summary.FIELDS,
        "updated_at",
        *extra_fields,
        *(["last_ingested_at"] if ingested else []),
    ]
    now = timezone.now()
    stamps = {"updated_at": now, "last_ingested_at": now}
    rows = []
    for row in summaries:
        values = {**row, **stamps}
        rows.append([*(_db_value(name, values[name]) for name in fields), row["trace_id"]])
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement for all traces: Postgres parses and plans it once, not once a trace.
            names = [*fields, "trace_id"]
            quoted = [connection.ops.quote_name(name) for name in names]
            placeholders = "({})".format(", ".join(f"%s::{_column_type(name)}" for name in names))
            assignments = ", ".join(f"{name} = v.{name}" for name in quoted[:-1])
            # In chunks: the statement's text holds every value, and a request may touch thousands of traces.
            for start in range(0, len(rows), _UPDATE_CHUNK):
                chunk = rows[start : start + _UPDATE_CHUNK]
                cursor.execute(
                    f"UPDATE traces SET {assignments} FROM (VALUES {', '.join([placeholders] * len(chunk))}) "  # noqa: S608 (our column names)
                    f"AS v ({', '.join(quoted)}) WHERE traces.trace_id = v.trace_id",
                    [value for row_values in chunk for value in row_values],
                )
        else:
            assignments = ", ".join(f'"{name}" = %s' for name in fields)
            cursor.executemany(
                f"UPDATE traces SET {assignments} WHERE trace_id = %s",  # noqa: S608 (column names are our own)
                rows,
            )


_UPDATE_CHUNK = 200


def _column_type(name: str) -> str:
    # Text, not varchar(n): a cast to varchar(n) would cut a long value where the column refuses it.
    column_type = cast(str, Trace._meta.get_field(name).db_type(connection))
    return "text" if column_type.startswith("varchar") else column_type


# Values the database driver cannot take as they are (JSON, decimals on SQLite, datetimes); the rest are plain.
_PREPARED_FIELDS = frozenset(
    (
        "cost_usd",
        "models_used",
        "tools_used",
        "service_span_counts",
        "service_error_counts",
        "environment_span_counts",
        "updated_at",
        "last_ingested_at",
    )
)


def _db_value(name: str, value: Any) -> Any:
    if name not in _PREPARED_FIELDS:
        return value
    field = cast(Field, Trace._meta.get_field(name))
    return field.get_db_prep_save(value, connection)


def summary_of(trace_id: str, spans: Iterable[SpanRow]) -> summary.Summary:
    """The summary columns a trace made of exactly these span rows would have."""
    return {**summary.from_scratch(list(spans)), "trace_id": trace_id}


def _problems_message(noted: list[SpanRow]) -> str:
    if not noted:
        return ""
    reasons = Counter(reason for span in noted for reason in span["attributes"][span_limits.PROBLEMS_ATTRIBUTE])
    described = "; ".join(reason for reason, _ in reasons.most_common(_MAX_REJECTION_REASONS))
    return (
        f"{len(noted)} span(s) stored with values left out (listed in their {span_limits.PROBLEMS_ATTRIBUTE} "
        f"attribute): {described}"
    )


def _named_id_of(spans: list[SpanRow], keys: list[str]) -> str:
    """The session or user id the earliest of `spans` that names one under `keys` gives.

    Read from the redacted attributes: in strict mode an email address or phone number used as the id is
    already masked here, so the trace column never holds what the span may not.
    """
    for span in sorted(spans, key=lambda s: (s["start_unix_nano"], s["span_id"])):
        named = semconv.named_id_of(span["attributes"], span["resource_attributes"], keys)
        if named:
            return named[:_NAMED_ID_CHARS]
    return ""


def _rejection_message(rejections: list[RejectedSpan]) -> str:
    if not rejections:
        return ""
    reasons = Counter(r.reason for r in rejections)
    described = "; ".join(f"{count} span(s): {reason}" for reason, count in reasons.most_common(_MAX_REJECTION_REASONS))
    example = rejections[0]
    return (
        f"{len(rejections)} span(s) rejected: {described} "
        f"(first: trace {example.trace_id or '(empty)'} span {example.span_id or '(empty)'})"
    )

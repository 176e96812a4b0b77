"""Write decoded OTLP spans: one insert of the new spans and one summary update per touched trace, per batch.

Concurrency: the touched trace rows are created if missing and locked, in trace-id order (so two batches never
deadlock), before anything else is read or written. Under those locks a batch reads what is stored of its
traces, inserts only the spans not stored yet (a re-sent batch changes nothing) and recomputes each summary
from the stored and the new spans, so concurrent batches of one trace are serialised and none loses counts.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from payloads import refs
from payloads.contracts import OtlpSpan, RejectedSpan
from payloads.ingest import PayloadBatch
from traces import otlp, semconv, span_limits
from traces.contracts import IngestResult
from traces.models import Span, SpanCategory, StatusCode, Trace, TraceSource, TraceStatus
from traces.pricing import PriceTable, configured_price_table
from traces.span_insert import SpanRow, insert_spans

_SEARCH_VALUE_CHARS = 200
_SEARCH_TEXT_CHARS = 32_000
# Payload refs are content hashes: nothing anyone types into a search box, and a lot of index to keep current.
_UNSEARCHED_PREFIX = refs.KEY_PREFIX
_TOKEN_CATEGORIES = (SpanCategory.LLM, SpanCategory.EMBEDDING)
_MAX_REJECTION_REASONS = 5


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
        search_texts = _lock_traces(trace_ids, source)
        rows_by_trace = _stored_summary_rows(trace_ids)
        stored = {(trace_id, row[1]) for trace_id, rows in rows_by_trace.items() for row in rows}
        new_spans = [span for span in spans if (span["trace_id"], span["span_id"]) not in stored]
        insert_spans(new_spans)
        payloads.write_refs({(span["trace_id"], span["span_id"]) for span in new_spans}, span_pks)
        if not new_spans:
            return  # a re-sent batch: nothing changes
        for span in new_spans:
            rows_by_trace[span["trace_id"]].append(tuple(span[column] for column in _SUMMARY_COLUMNS))
        new_words = _search_words_of_batch(new_spans)
        _write_summaries(
            rows_by_trace,
            {t: _merge_words(search_texts.get(t, ""), new_words.get(t, set())) for t in trace_ids},
            ingested=True,
        )


def span_pks(keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Row ids of stored spans, by (trace_id, span_id): one query for a whole batch."""
    trace_ids = {trace_id for trace_id, _ in keys}
    span_ids = {span_id for _, span_id in keys}
    return {
        (trace_id, span_id): pk
        for pk, trace_id, span_id in Span.objects.filter(trace_id__in=trace_ids, span_id__in=span_ids).values_list(
            "pk", "trace_id", "span_id"
        )
    }


def _lock_traces(trace_ids: list[str], source: str) -> dict[str, str]:
    """Create the missing trace rows and lock all of them; their search texts.

    Every writer of a trace's spans locks its row first, in trace-id order: once locked, what is read after is
    all that is stored, and nobody else adds spans to these traces until we commit. A row that retention deleted
    between the insert and the lock is created again, so no span is ever stored without its trace.
    """
    while True:
        Trace.objects.bulk_create(
            [Trace(trace_id=trace_id, source=source) for trace_id in trace_ids], ignore_conflicts=True
        )
        locked = Trace.objects.select_for_update().filter(trace_id__in=trace_ids).order_by("trace_id")
        search_texts = dict(locked.values_list("trace_id", "search_text"))
        if len(search_texts) == len(trace_ids):
            return search_texts


_SUMMARY_COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "start_unix_nano",
    "end_unix_nano",
    "status_code",
    "category",
    "model",
    "tool_name",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
    "retry_count",
    "is_timeout",
    "service",
    "environment",
)


def recompute_summaries(trace_ids: Iterable[str]) -> None:
    """Rebuild the summary of each trace from all its stored spans (callers hold the trace rows' locks)."""
    _write_summaries(_stored_summary_rows(trace_ids), search_texts=None, ingested=False)


def _stored_summary_rows(trace_ids: Iterable[str]) -> dict[str, list[tuple]]:
    rows_by_trace: dict[str, list[tuple]] = defaultdict(list)
    for row in Span.objects.filter(trace_id__in=list(trace_ids)).values_list(*_SUMMARY_COLUMNS):
        rows_by_trace[row[0]].append(row)
    return rows_by_trace


def _write_summaries(
    rows_by_trace: dict[str, list[tuple]], search_texts: dict[str, str] | None, *, ingested: bool
) -> None:
    """`ingested`: new spans arrived (retention dates traces by this; its own recomputes must not)."""
    summaries = [_summary(trace_id, rows) for trace_id, rows in rows_by_trace.items() if rows]
    fields = [
        *_SUMMARY_FIELDS,
        "updated_at",
        *(["search_text"] if search_texts is not None else []),
        *(["last_ingested_at"] if ingested else []),
    ]
    now = _db_value("updated_at", timezone.now())
    rows = []
    for summary in summaries:
        summary["updated_at"] = summary["last_ingested_at"] = now
        if search_texts is not None:
            summary["search_text"] = search_texts.get(summary["trace_id"], "")
        for name in _PREPARED_FIELDS:
            summary[name] = _db_value(name, summary[name])
        rows.append([*(summary[name] for name in fields), summary["trace_id"]])
    # One parameterised UPDATE sent for all traces at once: cheaper than bulk_update's CASE expressions.
    assignments = ", ".join(f'"{name}" = %s' for name in fields)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE traces SET {assignments} WHERE trace_id = %s",  # noqa: S608 (column names are our own)
            rows,
        )


_SUMMARY_FIELDS = (
    "service",
    "environment",
    "root_span_id",
    "root_span_name",
    "start_unix_nano",
    "end_unix_nano",
    "duration_ns",
    "status",
    "span_count",
    "error_count",
    "llm_call_count",
    "tool_call_count",
    "retry_count",
    "timeout_count",
    "orphan_count",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
    "models_used",
    "tools_used",
)
# Values the database driver cannot take as they are (JSON, decimals on SQLite); the rest are plain ints and str.
_PREPARED_FIELDS = ("cost_usd", "models_used", "tools_used")


def _db_value(name: str, value: Any) -> Any:
    field = cast(Field, Trace._meta.get_field(name))
    return field.get_db_prep_save(value, connection)


def summary_of(trace_id: str, spans: Iterable[SpanRow]) -> dict[str, Any]:
    """The summary columns a trace made of exactly these span rows would have."""
    return _summary(trace_id, [tuple(span[column] for column in _SUMMARY_COLUMNS) for span in spans])


def _summary(trace_id: str, rows: list[tuple]) -> dict[str, Any]:
    """The summary columns of a trace from the `_SUMMARY_COLUMNS` of all its spans."""
    (
        _,
        span_ids,
        parents,
        names,
        starts,
        ends,
        statuses,
        categories,
        models,
        tools,
        inputs,
        outputs,
        totals,
        costs,
        retries,
        timeouts,
        services,
        environments,
    ) = zip(*rows, strict=True)
    known = set(span_ids)
    roots = [i for i, parent in enumerate(parents) if not parent]
    orphans = [i for i, parent in enumerate(parents) if parent and parent not in known]
    root = min(roots or orphans or range(len(rows)), key=lambda i: (starts[i], span_ids[i]))
    counted = [i for i, category in enumerate(categories) if category in _TOKEN_CATEGORIES]
    start, end = min(starts), max(ends)
    service_votes = Counter(s for s in services if s)
    return dict(
        trace_id=trace_id,
        service=services[root] or (service_votes.most_common(1)[0][0] if service_votes else ""),
        environment=environments[root] or next((e for e in environments if e), ""),
        root_span_id=span_ids[root] if roots else "",
        root_span_name=names[root],
        start_unix_nano=start,
        end_unix_nano=end,
        duration_ns=end - start,
        status=str(TraceStatus.ERROR if StatusCode.ERROR in statuses else TraceStatus.OK),
        span_count=len(rows),
        error_count=statuses.count(StatusCode.ERROR),
        llm_call_count=categories.count(SpanCategory.LLM),
        tool_call_count=categories.count(SpanCategory.TOOL),
        # Sums saturate: see `traces.span_limits`.
        retry_count=min(sum(retries), span_limits.MAX_TRACE_RETRIES),
        timeout_count=sum(1 for t in timeouts if t),
        orphan_count=len(orphans),
        input_tokens=min(sum(inputs[i] for i in counted), span_limits.MAX_TRACE_TOKENS),
        output_tokens=min(sum(outputs[i] for i in counted), span_limits.MAX_TRACE_TOKENS),
        total_tokens=min(sum(totals[i] for i in counted), span_limits.MAX_TRACE_TOKENS),
        cost_usd=min(sum((costs[i] for i in counted), Decimal(0)), span_limits.MAX_TRACE_COST_USD),
        models_used=sorted({m for m in models if m}),
        tools_used=sorted({t for t in tools if t}),
    )


def _search_words_of_batch(spans: list[SpanRow]) -> dict[str, set[str]]:
    words: dict[str, set[str]] = defaultdict(set)
    for span in spans:
        bucket = words[span["trace_id"]]
        bucket.update(
            w for w in (span[k] for k in ("trace_id", "name", "model", "tool_name", "service", "status_message")) if w
        )
        for key, value in span["attributes"].items():
            if value and isinstance(value, str) and not key.startswith(_UNSEARCHED_PREFIX):
                bucket.add(value[:_SEARCH_VALUE_CHARS].replace("\n", " "))
    return words


def _merge_words(existing: str, new_words: set[str]) -> str:
    words = set(existing.split("\n")) if existing else set()
    words |= new_words
    return "\n".join(sorted(words))[:_SEARCH_TEXT_CHARS]


def _problems_message(noted: list[SpanRow]) -> str:
    if not noted:
        return ""
    reasons = Counter(reason for span in noted for reason in span["attributes"][span_limits.PROBLEMS_ATTRIBUTE])
    described = "; ".join(reason for reason, _ in reasons.most_common(_MAX_REJECTION_REASONS))
    return (
        f"{len(noted)} span(s) stored with values left out (listed in their {span_limits.PROBLEMS_ATTRIBUTE} "
        f"attribute): {described}"
    )


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

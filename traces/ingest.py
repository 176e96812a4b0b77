"""Write decoded OTLP spans: one insert of the new spans and one summary update per touched trace, per batch.

Concurrency: the touched trace rows are created if missing and locked, in trace-id order (so two batches never
deadlock), before anything else is read or written. Under those locks a batch reads what is stored of its
traces, inserts only the spans not stored yet (a re-sent batch changes nothing) and recomputes each summary
from the stored and the new spans, so concurrent batches of one trace are serialised and none loses counts.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from payloads import refs
from payloads.contracts import OtlpSpan, RejectedSpan
from payloads.ingest import PayloadBatch
from traces import otlp, semconv
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
_SESSION_ID_CHARS = 255


def ingest_request(
    request: ExportTraceServiceRequest, source: str = TraceSource.OTLP, environment: str | None = None
) -> IngestResult:
    """Store every valid span of an OTLP request; count and describe the ones that cannot be stored."""
    prices = configured_price_table()
    spans: dict[tuple[str, str], SpanRow] = {}
    rejections: list[RejectedSpan] = []
    payloads = PayloadBatch()
    for item in otlp.iter_spans(request):
        if isinstance(item, RejectedSpan):
            rejections.append(item)
        else:
            item = payloads.capture(item)  # redacted, payloads swapped for refs, before anything is written
            spans.setdefault((item.trace_id, item.span_id), span_row(item, prices, environment))
    trace_ids = sorted({trace_id for trace_id, _ in spans})
    if spans:
        write_spans(list(spans.values()), trace_ids, source, payloads)
    return IngestResult(
        accepted_spans=len(spans),
        rejected_spans=len(rejections),
        error_message=_rejection_message(rejections),
        trace_ids=tuple(trace_ids),
    )


def span_row(span: OtlpSpan, prices: PriceTable, environment: str | None = None) -> SpanRow:
    """The `spans` row of a decoded span as column values (a dict: model instances cost more to build)."""
    meaning = semconv.map_span(span.name, span.attributes, span.events, span.status_code, span.status_message)
    cost = meaning.stated_cost_usd
    if cost is None:
        cost = prices.cost_usd(meaning.model, meaning.input_tokens, meaning.output_tokens)
    return dict(
        trace_id=span.trace_id,
        span_id=span.span_id,
        parent_span_id=span.parent_span_id,
        name=span.name,
        kind=span.kind,
        category=meaning.category,
        service=semconv.service_of(span.resource_attributes),
        environment=semconv.environment_of(span.resource_attributes) if environment is None else environment,
        start_unix_nano=span.start_unix_nano,
        end_unix_nano=span.end_unix_nano,
        duration_ns=span.end_unix_nano - span.start_unix_nano,
        status_code=span.status_code,
        status_message=span.status_message,
        trace_state=span.trace_state,
        flags=span.flags,
        attributes=span.attributes,
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
        cost_usd=cost,
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
        search_texts, session_ids = _lock_traces(trace_ids, source)
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
            {
                "search_text": {t: _merge_words(search_texts.get(t, ""), new_words.get(t, set())) for t in trace_ids},
                "session_id": _session_ids_of_batch(new_spans, session_ids),
            },
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


def _lock_traces(trace_ids: list[str], source: str) -> tuple[dict[str, str], dict[str, str]]:
    """Create the missing trace rows and lock all of them; their search texts and session ids.

    Every writer of a trace's spans locks its row first, in trace-id order: once locked, what is read after is
    all that is stored, and nobody else adds spans to these traces until we commit. A row that retention deleted
    between the insert and the lock is created again, so no span is ever stored without its trace.
    """
    while True:
        Trace.objects.bulk_create(
            [Trace(trace_id=trace_id, source=source) for trace_id in trace_ids], ignore_conflicts=True
        )
        locked = Trace.objects.select_for_update().filter(trace_id__in=trace_ids).order_by("trace_id")
        rows = list(locked.values_list("trace_id", "search_text", "session_id"))
        if len(rows) == len(trace_ids):
            return {row[0]: row[1] for row in rows}, {row[0]: row[2] for row in rows}


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
    _write_summaries(_stored_summary_rows(trace_ids), from_attributes={})


def _stored_summary_rows(trace_ids: Iterable[str]) -> dict[str, list[tuple]]:
    rows_by_trace: dict[str, list[tuple]] = defaultdict(list)
    for row in Span.objects.filter(trace_id__in=list(trace_ids)).values_list(*_SUMMARY_COLUMNS):
        rows_by_trace[row[0]].append(row)
    return rows_by_trace


def _write_summaries(rows_by_trace: dict[str, list[tuple]], from_attributes: dict[str, dict[str, str]]) -> None:
    """Update the summary columns, and the columns of `from_attributes` (column → value by trace id): those come
    from attributes, which a recompute from the summary columns does not read."""
    summaries = [_summary(trace_id, rows) for trace_id, rows in rows_by_trace.items() if rows]
    fields = [*_SUMMARY_FIELDS, "updated_at", *from_attributes]
    now = _db_value("updated_at", timezone.now())
    rows = []
    for summary in summaries:
        summary["updated_at"] = now
        for column, values in from_attributes.items():
            summary[column] = values.get(summary["trace_id"], "")
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
        retry_count=sum(retries),
        timeout_count=sum(1 for t in timeouts if t),
        orphan_count=len(orphans),
        input_tokens=sum(inputs[i] for i in counted),
        output_tokens=sum(outputs[i] for i in counted),
        total_tokens=sum(totals[i] for i in counted),
        cost_usd=sum((costs[i] for i in counted), Decimal(0)),
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
        _add_attribute_words(bucket, span["attributes"])
        for event in span["events"]:
            # Payload content was moved out of events before this point; only their refs remain (skipped).
            _add_attribute_words(bucket, event.get("attributes") or {})
    return words


def _add_attribute_words(bucket: set[str], attributes: dict[str, Any]) -> None:
    for key, value in attributes.items():
        if value and isinstance(value, str) and not key.startswith(_UNSEARCHED_PREFIX):
            bucket.add(value[:_SEARCH_VALUE_CHARS].replace("\n", " "))


def _session_ids_of_batch(spans: list[SpanRow], stored: dict[str, str]) -> dict[str, str]:
    """Each trace's session id: the stored one, else the earliest new span's that names one."""
    keys = settings.SESSION_ID_ATTRIBUTES
    session_ids = dict(stored)
    for span in sorted(spans, key=lambda s: (s["start_unix_nano"], s["span_id"])):
        if not session_ids.get(span["trace_id"]):
            session_ids[span["trace_id"]] = semconv.session_id_of(
                span["attributes"], span["resource_attributes"], keys
            )[:_SESSION_ID_CHARS]
    return session_ids


def _merge_words(existing: str, new_words: set[str]) -> str:
    words = set(existing.split("\n")) if existing else set()
    words |= new_words
    return "\n".join(sorted(words))[:_SEARCH_TEXT_CHARS]


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

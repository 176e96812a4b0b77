"""Write decoded OTLP spans: one bulk upsert per batch and one summary recompute per touched trace.

Concurrency: the touched trace rows are created if missing and locked (in trace-id order, so two batches
never deadlock) before the spans are written, so concurrent batches of one trace are serialised and the last
recompute sees every committed span. Re-sent spans are ignored on (trace_id, span_id).
"""

from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from traces import otlp, semconv
from traces.contracts import IngestResult
from traces.models import Span, SpanCategory, StatusCode, Trace, TraceSource, TraceStatus
from traces.pricing import PriceTable, configured_price_table

_SEARCH_VALUE_CHARS = 200
_SEARCH_TEXT_CHARS = 32_000
_TOKEN_CATEGORIES = (SpanCategory.LLM, SpanCategory.EMBEDDING)
_MAX_REJECTION_REASONS = 5


def ingest_request(
    request: ExportTraceServiceRequest, source: str = TraceSource.OTLP, environment: str | None = None
) -> IngestResult:
    """Store every valid span of an OTLP request; count and describe the ones that cannot be stored."""
    prices = configured_price_table()
    spans: dict[tuple[str, str], Span] = {}
    rejections: list[otlp.RejectedSpan] = []
    for item in otlp.iter_spans(request):
        if isinstance(item, otlp.RejectedSpan):
            rejections.append(item)
        else:
            spans.setdefault((item.trace_id, item.span_id), span_row(item, prices, environment))
    trace_ids = sorted({trace_id for trace_id, _ in spans})
    if spans:
        write_spans(list(spans.values()), trace_ids, source)
    return IngestResult(
        accepted_spans=len(spans),
        rejected_spans=len(rejections),
        error_message=_rejection_message(rejections),
        trace_ids=tuple(trace_ids),
    )


def span_row(span: otlp.OtlpSpan, prices: PriceTable, environment: str | None = None) -> Span:
    meaning = semconv.map_span(span.name, span.attributes, span.events, span.status_code, span.status_message)
    cost = meaning.stated_cost_usd
    if cost is None:
        cost = prices.cost_usd(meaning.model, meaning.input_tokens, meaning.output_tokens)
    return Span(
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


def write_spans(spans: list[Span], trace_ids: list[str], source: str) -> None:
    with transaction.atomic():
        Trace.objects.bulk_create([Trace(trace_id=trace_id, source=source) for trace_id in trace_ids],
                                  ignore_conflicts=True)
        locked = Trace.objects.select_for_update().filter(trace_id__in=trace_ids).order_by("trace_id")
        search_texts = dict(locked.values_list("trace_id", "search_text"))
        Span.objects.bulk_create(spans, ignore_conflicts=True, batch_size=1000)
        new_words = _search_words_of_batch(spans)
        recompute_summaries(trace_ids, {t: _merge_words(search_texts.get(t, ""), new_words[t]) for t in trace_ids})


_SUMMARY_COLUMNS = (
    "trace_id", "span_id", "parent_span_id", "name", "start_unix_nano", "end_unix_nano", "status_code",
    "category", "model", "tool_name", "input_tokens", "output_tokens", "total_tokens", "cost_usd",
    "retry_count", "is_timeout", "service", "environment",
)


def recompute_summaries(trace_ids: Iterable[str], search_texts: dict[str, str] | None = None) -> None:
    """Rebuild the summary of each trace from all its stored spans (callers hold the trace rows' locks)."""
    rows_by_trace: dict[str, list[tuple]] = defaultdict(list)
    for row in Span.objects.filter(trace_id__in=list(trace_ids)).values_list(*_SUMMARY_COLUMNS):
        rows_by_trace[row[0]].append(row)
    traces = [_summary(trace_id, rows) for trace_id, rows in rows_by_trace.items()]
    fields = [
        "service", "environment", "root_span_id", "root_span_name", "start_unix_nano", "end_unix_nano",
        "duration_ns", "status", "span_count", "error_count", "llm_call_count", "tool_call_count",
        "retry_count", "timeout_count", "orphan_count", "input_tokens", "output_tokens", "total_tokens",
        "cost_usd", "models_used", "tools_used",
    ]
    if search_texts is not None:
        for trace in traces:
            trace.search_text = search_texts.get(trace.trace_id, "")
        fields.append("search_text")
    Trace.objects.bulk_update(traces, fields, batch_size=500)


def _summary(trace_id: str, rows: list[tuple]) -> Trace:
    (_, span_ids, parents, names, starts, ends, statuses, categories, models, tools, inputs, outputs, totals,
     costs, retries, timeouts, services, environments) = zip(*rows, strict=True)
    known = set(span_ids)
    roots = [i for i, parent in enumerate(parents) if not parent]
    orphans = [i for i, parent in enumerate(parents) if parent and parent not in known]
    root = min(roots or orphans or range(len(rows)), key=lambda i: (starts[i], span_ids[i]))
    counted = [i for i, category in enumerate(categories) if category in _TOKEN_CATEGORIES]
    start, end = min(starts), max(ends)
    service_votes = Counter(s for s in services if s)
    return Trace(
        trace_id=trace_id,
        service=services[root] or (service_votes.most_common(1)[0][0] if service_votes else ""),
        environment=environments[root] or next((e for e in environments if e), ""),
        root_span_id=span_ids[root] if roots else "",
        root_span_name=names[root],
        start_unix_nano=start,
        end_unix_nano=end,
        duration_ns=end - start,
        status=TraceStatus.ERROR if StatusCode.ERROR in statuses else TraceStatus.OK,
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


def _search_words_of_batch(spans: list[Span]) -> dict[str, set[str]]:
    words: dict[str, set[str]] = defaultdict(set)
    for span in spans:
        bucket = words[span.trace_id]
        bucket.update(w for w in (span.name, span.model, span.tool_name, span.service, span.status_message) if w)
        for value in span.attributes.values():
            if isinstance(value, str) and value:
                bucket.add(value[:_SEARCH_VALUE_CHARS].replace("\n", " "))
    return words


def _merge_words(existing: str, new_words: set[str]) -> str:
    words = set(existing.split("\n")) if existing else set()
    words |= new_words
    return "\n".join(sorted(words))[:_SEARCH_TEXT_CHARS]


def _rejection_message(rejections: list[otlp.RejectedSpan]) -> str:
    if not rejections:
        return ""
    reasons = Counter(r.reason for r in rejections)
    described = "; ".join(f"{count} span(s): {reason}" for reason, count in reasons.most_common(_MAX_REJECTION_REASONS))
    example = rejections[0]
    return (
        f"{len(rejections)} span(s) rejected: {described} "
        f"(first: trace {example.trace_id or '(empty)'} span {example.span_id or '(empty)'})"
    )

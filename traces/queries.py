"""Reads behind the traces API: filtered, keyset-paginated trace lists, span trees, breakdowns, facets.

Every list is bounded and bulk-loaded (no query per row). Pagination is by keyset on (sort column, trace_id),
never OFFSET, so page N costs what page 1 costs.
"""

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from tracefoundry_site import json_limits
from traces import span_limits
from traces.models import Span, StatusCode, Trace
from traces.timefmt import unix_nano_from_datetime

_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_INTEGER = re.compile(r"-?[0-9]{1,19}")

SORTS: dict[str, tuple[str, bool]] = {
    # name: (column, descending)
    "newest": ("start_unix_nano", True),
    "oldest": ("start_unix_nano", False),
    "slowest": ("duration_ns", True),
    "most_expensive": ("cost_usd", True),
    "most_tokens": ("total_tokens", True),
    "fastest": ("duration_ns", False),
    "cheapest": ("cost_usd", False),
    "fewest_tokens": ("total_tokens", False),
}

SPAN_LIST_COLUMNS = (
    "id",
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "kind",
    "category",
    "service",
    "start_unix_nano",
    "end_unix_nano",
    "duration_ns",
    "status_code",
    "status_message",
    "operation_name",
    "model",
    "provider",
    "tool_name",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
    "retry_count",
    "is_timeout",
    "events",
)


@dataclass(frozen=True, slots=True)
class ListedSpan:
    """The columns of SPAN_LIST_COLUMNS, read without building model instances (a 10k-span tree loads
    several times faster); `pk` stands for `id`, as on a Span."""

    pk: int
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    category: str
    service: str
    start_unix_nano: int
    end_unix_nano: int
    duration_ns: int
    status_code: int
    status_message: str
    operation_name: str
    model: str
    provider: str
    tool_name: str
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: Decimal
    retry_count: int
    is_timeout: bool
    events: list[dict[str, Any]]


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class TraceFilters:
    start: datetime | None = None
    end: datetime | None = None
    service: str = ""
    environment: str = ""
    status: str = ""
    model: str = ""
    tool: str = ""
    min_duration_ms: float | None = None
    max_duration_ms: float | None = None
    min_tokens: int | None = None
    max_tokens: int | None = None
    min_cost: Decimal | None = None
    max_cost: Decimal | None = None
    q: str = ""
    has_errors: bool | None = None
    has_retries: bool | None = None
    has_timeouts: bool | None = None
    min_retries: int | None = None
    session_id: str = ""
    user: str = ""


@dataclass(frozen=True)
class TraceCount:
    """How many traces match: `count` exactly, or at least `count` when `exact` is false (counting was capped)."""

    count: int
    exact: bool


@dataclass(frozen=True)
class TracePage:
    items: list[Trace]
    next_cursor: str | None
    total: TraceCount | None = None


@dataclass
class SpanNode:
    span: Span | ListedSpan
    depth: int
    is_orphan: bool


@dataclass(frozen=True)
class TraceDetail:
    trace: Trace
    root_span: Span | None
    services: list[Any] = field(default_factory=list)
    models: list[Any] = field(default_factory=list)


class AmbiguousSpanId(Exception):
    def __init__(self, trace_ids: list[str]) -> None:
        super().__init__(f"span id is in several traces: {', '.join(trace_ids)}")
        self.trace_ids = trace_ids


def list_traces(
    filters: TraceFilters, sort: str, limit: int, cursor: str | None, count_limit: int | None = None
) -> TracePage:
    """A page of matching traces; with `count_limit`, also how many match (counted up to that many)."""
    column, descending = SORTS[sort]
    traces = filtered_traces(filters)
    total = count_traces(traces, count_limit) if count_limit is not None else None
    if cursor:
        value, last_id = decode_cursor(cursor, column)
        after = Q(**{f"{column}__lt" if descending else f"{column}__gt": value}) | Q(
            **{column: value, "trace_id__lt" if descending else "trace_id__gt": last_id}
        )
        traces = traces.filter(after)
    order = [f"-{column}", "-trace_id"] if descending else [column, "trace_id"]
    rows = list(traces.order_by(*order).defer("search_text", "search_text_left_out")[: limit + 1])
    next_cursor = (
        encode_cursor(getattr(rows[limit - 1], column), rows[limit - 1].trace_id) if len(rows) > limit else None
    )
    return TracePage(items=rows[:limit], next_cursor=next_cursor, total=total)


def count_traces(traces: QuerySet[Trace], limit: int) -> TraceCount:
    """Count up to `limit` + 1 rows in the database (a subquery with LIMIT), so the cost is bounded."""
    counted = traces.order_by().values("trace_id")[: limit + 1].count()
    return TraceCount(count=min(counted, limit), exact=counted <= limit)


def filtered_traces(f: TraceFilters) -> QuerySet[Trace]:
    """The traces matching the list's filters (the trace list, sessions and metrics share them)."""
    conditions = Q()
    if f.start:
        conditions &= Q(start_unix_nano__gte=_int64_clamped(unix_nano_from_datetime(f.start)))
    if f.end:
        conditions &= Q(start_unix_nano__lte=_int64_clamped(unix_nano_from_datetime(f.end)))
    if f.service:
        conditions &= Q(service=f.service)
    if f.environment:
        conditions &= Q(environment=f.environment)
    if f.status:
        conditions &= Q(status=f.status)
    if f.min_duration_ms is not None:
        conditions &= Q(duration_ns__gte=int(f.min_duration_ms * 1_000_000))
    if f.max_duration_ms is not None:
        conditions &= Q(duration_ns__lte=int(f.max_duration_ms * 1_000_000))
    if f.min_tokens is not None:
        conditions &= Q(total_tokens__gte=f.min_tokens)
    if f.max_tokens is not None:
        conditions &= Q(total_tokens__lte=f.max_tokens)
    if f.min_cost is not None:
        conditions &= Q(cost_usd__gte=f.min_cost)
    if f.max_cost is not None:
        conditions &= Q(cost_usd__lte=f.max_cost)
    if f.q:
        conditions &= Q(search_text__icontains=f.q)
    for flag, column in (
        (f.has_errors, "error_count"),
        (f.has_retries, "retry_count"),
        (f.has_timeouts, "timeout_count"),
    ):
        if flag is not None:
            conditions &= Q(**{f"{column}__gt": 0}) if flag else Q(**{column: 0})
    if f.min_retries is not None:
        conditions &= Q(retry_count__gte=f.min_retries)
    if f.session_id:
        conditions &= Q(session_id=f.session_id)
    if f.user:
        conditions &= Q(user_id=f.user)
    # Models and tools as substrings of the trace's own names (the distinct values of its spans, one a line): no
    # join with spans; on Postgres a trigram index finds the rare ones, and the column's statistics tell the
    # planner when a name is in most traces (then walking the sort's index is cheaper).
    if f.model:
        conditions &= Q(models_text__icontains=f.model)
    if f.tool:
        conditions &= Q(tools_text__icontains=f.tool)
    return Trace.objects.filter(conditions)


def encode_cursor(value: Any, trace_id: str) -> str:
    raw = json.dumps([str(value), trace_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, column: str, ids: re.Pattern[str] = _TRACE_ID) -> tuple[Any, str]:
    """The (sort value, id) a cursor holds; `ids` is what a valid id looks like (trace ids unless told). Cursors
    come back from clients, so anything but what `encode_cursor` writes (a sort value the column can hold, an
    id) is InvalidCursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        document = json_limits.loads(raw, max_depth=2)
    except (binascii.Error, ValueError) as exc:  # JSON, Unicode and depth errors are ValueErrors too
        raise InvalidCursor("cursor is not one this API returned") from exc
    if not (isinstance(document, list) and len(document) == 2 and all(isinstance(v, str) for v in document)):
        raise InvalidCursor("cursor is not one this API returned")
    value, last_id = document
    typed: Any = span_limits.cost(value) if column == "cost_usd" else _int64(value)
    if typed is None or not ids.fullmatch(last_id):
        raise InvalidCursor("cursor is not one this API returned")
    return typed, last_id


def _int64_clamped(number: int) -> int:
    # Dates from year 1 to 9999 are valid filters; as nanoseconds they pass int64 at both ends.
    return max(-(2**63), min(number, 2**63 - 1))


def _int64(text: str) -> int | None:
    if not _INTEGER.fullmatch(text):
        return None
    number = int(text)
    return number if -(2**63) <= number < 2**63 else None


def get_trace(trace_id: str) -> Trace:
    return Trace.objects.defer("search_text", "search_text_left_out").get(trace_id=trace_id)


def spans_of(trace: Trace) -> QuerySet[Span]:
    """The spans of a trace, also bounded by its summary's times (each of its spans starts between the trace's
    start and end): on Postgres, where spans are partitioned by day, only the partitions of its days are read."""
    return Span.objects.filter(
        trace_id=trace.trace_id,
        start_unix_nano__gte=trace.start_unix_nano,
        start_unix_nano__lte=trace.end_unix_nano,
    )


def trace_detail(trace_id: str) -> TraceDetail:
    trace = get_trace(trace_id)
    spans = spans_of(trace)
    root = spans.filter(span_id=trace.root_span_id).only(*SPAN_LIST_COLUMNS).first() if trace.root_span_id else None
    # From the summary's counts: a breakdown of a million spans without reading them (a trace summarised before
    # the counts were kept has none until its next batch: read them from its spans).
    counts, errors = trace.service_span_counts, trace.service_error_counts
    if trace.span_count and not counts:
        grouped = list(
            spans.values_list("service").annotate(
                span_count=Count("id"), error_count=Count("id", filter=Q(status_code=StatusCode.ERROR))
            )
        )
        counts = {service: count for service, count, _ in grouped}
        errors = {service: failed for service, _, failed in grouped}
    services = [
        {"service": service, "span_count": count, "error_count": errors.get(service, 0)}
        for service, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    models = list(
        spans.exclude(model="")
        .values("model", "provider")
        .annotate(
            call_count=Count("id"),
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
            total_tokens=Sum("total_tokens"),
            cost_usd=Sum("cost_usd"),
        )
        .order_by("-call_count", "model")
    )
    return TraceDetail(trace=trace, root_span=root, services=services, models=models)


def get_span(span_id: str, trace_id: str | None) -> Span:
    spans = Span.objects.filter(span_id=span_id)
    if trace_id:
        return spans.get(trace_id=trace_id)
    found = list(spans[:10])
    if not found:
        raise Span.DoesNotExist(f"no span {span_id}")
    if len(found) > 1:
        raise AmbiguousSpanId(sorted(span.trace_id for span in found))
    return found[0]


def facets() -> dict[str, list[str]]:
    return {
        "services": _distinct(Trace.objects.exclude(service=""), "service"),
        "environments": _distinct(Trace.objects.exclude(environment=""), "environment"),
        "models": _distinct(Span.objects.exclude(model=""), "model"),
        "tools": _distinct(Span.objects.exclude(tool_name=""), "tool_name"),
    }


def _distinct(queryset: QuerySet[Any], column: str) -> list[str]:
    return list(queryset.order_by(column).values_list(column, flat=True).distinct()[:1000])

"""Reads behind the dashboards: time-bucketed counts, error rates, latency percentiles, tokens and cost.

Traces are selected with the trace list's filters. Without a group, or grouped by service, the figures are of
traces (latency = trace duration). Grouped by model or tool they are of the spans calling that model or tool
(latency = span duration; the time filters then apply to the span's own start). The per-tool and per-model
tables are always of spans.

Buckets are aligned to multiples of their width since the unix epoch, so the same bucket has the same bounds
in every answer. Percentiles are exact and interpolated linearly between the two nearest values (as
Postgres' `percentile_cont`): Postgres computes them with `percentile_cont`; SQLite, which has no such
aggregate, ranks the values with window functions and returns only the rows next to each percentile's
position, so no more than six rows per group leave the database. On Postgres a series grouped by model or tool is
read value by value and bucket by bucket (`span_metrics`), which spares the sort of all the range's calls. The
series and the two tables are read at once on two connections where that is safe (`concurrent_reads`).
"""

from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection, connections, router
from django.db.models import (
    Aggregate,
    BigIntegerField,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
)

from tracefoundry_site.concurrent_reads import read_both
from traces import span_metrics
from traces.models import Span, StatusCode, TraceStatus
from traces.queries import TraceFilters, filtered_traces
from traces.timefmt import iso_from_unix_nano, unix_nano_from_datetime

GROUPS = ("", "service", "model", "tool")
PERCENTILES = (0.5, 0.95, 0.99)
BUCKET_LADDER_SECONDS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 7 * 86_400)
TARGET_BUCKETS = 60
MAX_BUCKETS = 500
# Ten years: a wider bucket in nanoseconds would overflow the 64-bit arithmetic that buckets spans.
MAX_BUCKET_SECONDS = 10 * 366 * 86_400
TABLE_ROWS = 50
_SPAN_GROUP_COLUMNS = {"model": "model", "tool": "tool_name"}
_TABLES = (("tool", "tool_name"), ("model", "model"))
_NS = 1_000_000_000
# Spans are counted by a column that is never null and is in the model and tool indexes, so Postgres answers the
# per-model and per-tool figures from those indexes alone (COUNT of the primary key would read the table).
_SPAN_ROW = "start_unix_nano"


class TooManyBuckets(ValueError):
    pass


@dataclass(frozen=True)
class Metrics:
    group_by: str
    bucket_seconds: int
    buckets: list[str]  # ISO start of every bucket in the range, empty ones included
    series: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    models: list[dict[str, Any]]


class PercentileCont(Aggregate):
    """Postgres' ordered-set aggregate `percentile_cont(ARRAY[p, …]) WITHIN GROUP (ORDER BY value)`: all of
    PERCENTILES from one sort of each group's values (one aggregate a percentile sorted them once each)."""

    function = "percentile_cont"
    template = "%(function)s(ARRAY[%(fractions)s]::float8[]) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any) -> None:
        from django.contrib.postgres.fields import ArrayField  # Postgres only: psycopg is imported with it

        fractions = ", ".join(repr(fraction) for fraction in PERCENTILES)  # our constants, never input
        super().__init__(expression, fractions=fractions, output_field=ArrayField(FloatField()))


def metrics(filters: TraceFilters, group_by: str = "", bucket_seconds: int | None = None) -> Metrics:
    by_span = group_by in _SPAN_GROUP_COLUMNS
    start, end = _range(filters, by_span)
    if start is None or end is None:
        return Metrics(group_by, bucket_seconds or BUCKET_LADDER_SECONDS[0], [], [], [], [])
    width = bucket_seconds or _auto_bucket_seconds(end - start)
    first, last = start // (width * _NS), end // (width * _NS)
    if last - first + 1 > MAX_BUCKETS:
        raise TooManyBuckets(f"{last - first + 1} buckets of {width} s: at most {MAX_BUCKETS}; widen bucket_seconds")
    bucket_ns = width * _NS
    buckets = range(first, last + 1)
    if by_span:
        read_series = partial(_span_series, filters, _SPAN_GROUP_COLUMNS[group_by], buckets, bucket_ns)
    else:
        read_series = partial(_series, _bucketed(_traces(filters, group_by), bucket_ns), by_span=False)
    # The request's two heavy statements: at once, where that is safe and a connection is free.
    series, (tools, models) = read_both(read_series, partial(_span_tables, filters))
    for point in series:
        point["bucket_start"] = iso_from_unix_nano(point.pop("bucket") * bucket_ns)
    return Metrics(
        group_by=group_by,
        bucket_seconds=width,
        buckets=[iso_from_unix_nano(i * bucket_ns) for i in buckets],
        series=series,
        tools=tools,
        models=models,
    )


def _range(filters: TraceFilters, by_span: bool) -> tuple[int | None, int | None]:
    """The range the buckets cover: the filters' times, else the matching traces' (to the last span's start,
    which is before its trace's end, for figures of spans)."""
    start, end = _nanos(filters)
    if start is None or end is None:
        latest = Max("end_unix_nano" if by_span else "start_unix_nano")
        bounds = filtered_traces(filters).aggregate(first=Min("start_unix_nano"), last=latest)
        start = start if start is not None else bounds["first"]
        end = end if end is not None else bounds["last"]
    if start is not None and end is not None and end < start:
        return None, None
    return start, end


def _auto_bucket_seconds(span_ns: int) -> int:
    for width in BUCKET_LADDER_SECONDS:
        if span_ns // (width * _NS) + 1 <= TARGET_BUCKETS:
            return width
    return max(BUCKET_LADDER_SECONDS[-1], -(-span_ns // (_NS * (MAX_BUCKETS - 1))))


def _traces(filters: TraceFilters, group_by: str) -> QuerySet[Any]:
    group = F("service") if group_by == "service" else Value("", output_field=CharField())
    return (
        filtered_traces(filters)
        .order_by()
        .annotate(
            group=group,
            metric_value=F("duration_ns"),
        )
    )


def _bucketed(rows: QuerySet[Any], bucket_ns: int) -> QuerySet[Any]:
    bucket = ExpressionWrapper(F("start_unix_nano") / Value(bucket_ns), output_field=BigIntegerField())
    return rows.annotate(bucket=bucket)


def _spans(filters: TraceFilters, column: str) -> QuerySet[Any]:
    """Spans with a value in `column` (model or tool_name) of the traces matching the filters."""
    spans = Span.objects.exclude(**{column: ""})
    start, end = _nanos(filters)
    if start is not None:
        spans = spans.filter(start_unix_nano__gte=start)
    if end is not None:
        spans = spans.filter(start_unix_nano__lte=end)
    if (filters.start or filters.end) and connection.vendor == "postgresql":
        # Naming every value lets Postgres range-scan the (value, start) index once per value instead of reading
        # all of it for a time range (it has no skip scan before version 18; SQLite has one).
        values = _distinct_values(column)
        spans = spans.filter(**{f"{column}__in": values}) if values else spans.none()
    traces = _traces_of_spans(filters)
    if traces is not None:
        spans = spans.filter(trace_id__in=traces.values("trace_id"))
    return spans.order_by().annotate(group=F(column), metric_value=F("duration_ns"))


def _traces_of_spans(filters: TraceFilters) -> QuerySet[Any] | None:
    """The traces whose spans count, when the filters name more than a time range (which applies to the spans)."""
    trace_filters = replace(filters, start=None, end=None)
    if trace_filters == TraceFilters():
        return None
    traces = filtered_traces(trace_filters)
    # A span in the range is in a trace that ended after the range's start and began before its end (a trace
    # spans its spans): the same traces, but found through the time indexes instead of a scan of all of them.
    start, end = _nanos(filters)
    if start is not None:
        traces = traces.filter(end_unix_nano__gte=start)
    if end is not None:
        traces = traces.filter(start_unix_nano__lte=end)
    return traces


def _span_series(filters: TraceFilters, column: str, buckets: range, bucket_ns: int) -> list[dict[str, Any]]:
    if connection.vendor == "postgresql":
        values = _distinct_values(column)
        if len(buckets) * len(values) <= span_metrics.MAX_GROUPS:
            rows = span_metrics.series(
                column, values, buckets, bucket_ns, PERCENTILES, *_nanos(filters), _traces_of_spans(filters)
            )
            return [_point(_percentiles_in_ms(row), True) for row in rows]
    return _series(_bucketed(_spans(filters, column), bucket_ns), by_span=True)


def _nanos(filters: TraceFilters) -> tuple[int | None, int | None]:
    return (
        unix_nano_from_datetime(filters.start) if filters.start else None,
        unix_nano_from_datetime(filters.end) if filters.end else None,
    )


def _distinct_values(column: str) -> list[str]:
    """The distinct non-empty values of a span column with an index led by it (model, tool_name), one index probe
    each (a recursive query stepping from value to value), not a scan of all the spans that have one."""
    sql = (
        f'WITH RECURSIVE found(value) AS ((SELECT "{column}" FROM spans WHERE "{column}" <> \'\' '  # noqa: S608
        f'ORDER BY "{column}" LIMIT 1) UNION ALL SELECT (SELECT "{column}" FROM spans WHERE "{column}" > found.value '
        f'AND "{column}" <> \'\' ORDER BY "{column}" LIMIT 1) FROM found WHERE found.value IS NOT NULL) '
        "SELECT value FROM found WHERE value IS NOT NULL"
    )  # the column is one of _SPAN_GROUP_COLUMNS' values, never input
    with connections[router.db_for_read(Span)].cursor() as cursor:  # a replica when the request reads from one
        cursor.execute(sql)
        return [value for (value,) in cursor.fetchall()]


def _series(rows: QuerySet[Any], by_span: bool) -> list[dict[str, Any]]:
    keys = ("bucket", "group")
    aggregates: dict[str, Aggregate]
    if by_span:
        aggregates = dict(
            trace_count=Count("trace_id", distinct=True),
            span_count=Count(_SPAN_ROW),
            error_count=Count(_SPAN_ROW, filter=Q(status_code=StatusCode.ERROR)),
        )
    else:
        aggregates = dict(
            trace_count=Count("pk"),
            span_count=Sum("span_count"),
            error_count=Count("pk", filter=Q(status=TraceStatus.ERROR)),
        )
    counts = rows.values(*keys).annotate(**aggregates, total_tokens=Sum("total_tokens"), cost_usd=Sum("cost_usd"))
    return [_point(row, by_span) for row in _with_percentiles(counts.order_by(*keys), rows, keys)]


def _point(row: dict[str, Any], by_span: bool) -> dict[str, Any]:
    measured = row["span_count"] if by_span else row["trace_count"]
    return {
        **row,
        "error_rate": row["error_count"] / measured if measured else 0.0,
        "cost_usd": _decimal(row["cost_usd"]),
    }


def _span_tables(filters: TraceFilters) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The per-tool and per-model tables."""
    spans = {name: _spans(filters, column) for name, column in _TABLES}
    counts = {name: _table_counts(rows, name) for name, rows in spans.items()}
    # (A table known to be empty, no model or tool in the range, is read on its own: a union left with one part
    # would be written without it.)
    if connection.vendor == "postgresql" and not any(query.query.is_empty() for query in counts.values()):
        # Both tables in one statement: Postgres may then read the two indexes at once (a parallel append), which
        # halves the time of a dashboard over all the stored spans on an otherwise idle machine.
        # (Each table is cut to its first rows here, in the statement's order: a LIMIT in each part keeps Postgres
        # from reading them at once.)
        tool_rows, model_rows = (
            counts[name].order_by().annotate(percentiles=PercentileCont("metric_value")) for name, _ in _TABLES
        )
        rows: dict[str, list[dict[str, Any]]] = {"tool": [], "model": []}
        for row in tool_rows.union(model_rows, all=True).order_by("table", "-call_count", "group"):
            table = rows[row.pop("table")]
            if len(table) < TABLE_ROWS:
                table.append(_percentiles_in_ms(row))
    else:
        rows = {name: _with_percentiles(counts[name][:TABLE_ROWS], spans[name], ("group",)) for name, _ in _TABLES}
        for row in (*rows["tool"], *rows["model"]):
            del row["table"]
    tables = (
        [
            {
                name: row.pop("group"),
                **row,
                "error_rate": row["error_count"] / row["call_count"] if row["call_count"] else 0.0,
                "cost_usd": _decimal(row["cost_usd"]),
            }
            for row in rows[name]
        ]
        for name in ("tool", "model")
    )
    return next(tables), next(tables)


def _table_counts(spans: QuerySet[Any], name: str) -> QuerySet[Any]:
    return (
        spans.values("group")
        .annotate(
            table=Value(name, output_field=CharField()),
            call_count=Count(_SPAN_ROW),
            error_count=Count(_SPAN_ROW, filter=Q(status_code=StatusCode.ERROR)),
            retry_count=Sum("retry_count"),
            timeout_count=Count(_SPAN_ROW, filter=Q(is_timeout=True)),
            total_tokens=Sum("total_tokens"),
            cost_usd=Sum("cost_usd"),
        )
        .order_by("-call_count", "group")
    )


def _with_percentiles(counts: QuerySet[Any], rows: QuerySet[Any], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """The grouped `counts`, each with p50_ms, p95_ms and p99_ms of the `metric_value` of its `rows`.

    Postgres computes them in the grouped query itself; SQLite in one more query (`_ranked_percentiles`).
    """
    if connection.vendor == "postgresql":
        return [_percentiles_in_ms(row) for row in counts.annotate(percentiles=PercentileCont("metric_value"))]
    grouped = list(counts)
    if not grouped:
        return []
    if keys == ("group",):  # a table limited to its first rows: rank only theirs
        rows = rows.filter(group__in={row["group"] for row in grouped})
    percentiles = _ranked_percentiles(rows, keys)
    return [{**row, **_percentile_fields(percentiles.get(tuple(row[k] for k in keys)))} for row in grouped]


def _ranked_percentiles(rows: QuerySet[Any], keys: tuple[str, ...]) -> dict[tuple, tuple[float, ...]]:
    try:
        inner, params = rows.values(*keys, "metric_value").query.sql_with_params()
    except EmptyResultSet:  # a filter that matches nothing by construction (such as `IN ()`)
        return {}
    key_list = ", ".join(f'"{key}"' for key in keys)  # our own aliases, never input
    near = " OR ".join(
        f"rank_below IN (CAST({fraction!r} * (n - 1) AS INTEGER), CAST({fraction!r} * (n - 1) AS INTEGER) + 1)"
        for fraction in PERCENTILES
    )
    sql = (
        f"SELECT {key_list}, metric_value, rank_below, n FROM ("  # noqa: S608 (see above)
        f"SELECT {key_list}, metric_value, "
        f"ROW_NUMBER() OVER (PARTITION BY {key_list} ORDER BY metric_value) - 1 AS rank_below, "
        f"COUNT(*) OVER (PARTITION BY {key_list}) AS n FROM ({inner}) AS grouped_values"
        f") AS ranked WHERE {near}"
    )
    values: dict[tuple, dict[int, float]] = defaultdict(dict)
    sizes: dict[tuple, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for *group, value, rank_below, n in cursor.fetchall():
            values[tuple(group)][rank_below] = value
            sizes[tuple(group)] = n
    return {
        group: tuple(_interpolated(ranked, sizes[group], f) for f in PERCENTILES) for group, ranked in values.items()
    }


def _interpolated(ranked: dict[int, float], n: int, fraction: float) -> float:
    position = fraction * (n - 1)
    below = int(position)
    low = ranked[below]
    high = ranked.get(below + 1, low)
    return low + (high - low) * (position - below)


def _percentiles_in_ms(row: dict[str, Any]) -> dict[str, Any]:
    """`row` with Postgres' array of percentiles (nanoseconds, None for no values) as p50_ms, p95_ms and p99_ms."""
    row.update(_percentile_fields(tuple(row.pop("percentiles") or ()) or None))
    return row


def _percentile_fields(values: tuple[float, ...] | None) -> dict[str, float | None]:
    names = ("p50_ms", "p95_ms", "p99_ms")
    if values is None:
        return dict.fromkeys(names)
    return {name: value / 1_000_000 for name, value in zip(names, values, strict=True)}


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value or 0))

"""The dashboards' series grouped by model or tool on Postgres, read value by value and bucket by bucket through
the spans' (value, start) indexes.

In one grouped statement Postgres must sort every span of the range by its bucket and value before it aggregates
(ordered-set and DISTINCT aggregates cannot be hashed): at a million spans a week's model calls are 320,000 rows
sorted on disk. Asked one value and one bucket at a time (a LATERAL join over both), each group's rows come
straight from the index, within one day partition, and only the group's own values are sorted, for its
percentiles and its distinct traces. Trace ids are compared byte-wise (COLLATE "C") for those: they are hex,
and a locale's collation makes that sort several times slower.

`metrics` uses this while the buckets times the values stay under MAX_GROUPS (each group is one index probe per
partition it covers, however few spans it holds); past that, and on SQLite, one grouped statement.
"""

from typing import Any

from django.db import connections, router
from django.db.models import QuerySet

from traces.models import Span, StatusCode

MAX_GROUPS = 4_000
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# Our column names only (never input): the value columns with a partial index led by them.
_COLUMNS = ("model", "tool_name")


def series(
    column: str,
    values: list[str],
    buckets: range,
    bucket_ns: int,
    percentiles: tuple[float, ...],
    start_ns: int | None,
    end_ns: int | None,
    traces: QuerySet[Any] | None,
) -> list[dict[str, Any]]:
    """One row per (bucket, value) with spans of the `traces` (all when None) between `start_ns` and `end_ns`:
    bucket (its number), group, trace_count, span_count, error_count, total_tokens, cost_usd and percentiles
    (nanoseconds, at the fractions given), in bucket and value order."""
    assert column in _COLUMNS
    low, high = _INT64_MIN if start_ns is None else start_ns, _INT64_MAX if end_ns is None else end_ns
    lowers = [max(b * bucket_ns, low) for b in buckets]
    uppers = [min((b + 1) * bucket_ns - 1, high, _INT64_MAX) for b in buckets]
    with_matching, matching, params = "", "", []
    if traces is not None:
        # Materialized once: as a subquery of the LATERAL part, Postgres would read the traces again for every group.
        sql, trace_params = traces.values("trace_id").query.sql_with_params()
        with_matching, matching = (
            f"WITH matching AS MATERIALIZED ({sql}) ",
            " AND s.trace_id IN (SELECT * FROM matching)",
        )
        params = list(trace_params)
    sql = (
        f"{with_matching}SELECT b.bucket, v.value, f.* "  # noqa: S608 (our names)
        "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS b(bucket, lower, upper) "
        "CROSS JOIN unnest(%s::text[]) AS v(value) CROSS JOIN LATERAL ("
        'SELECT COUNT(DISTINCT s.trace_id COLLATE "C") AS trace_count, COUNT(*) AS span_count, '
        f"COUNT(*) FILTER (WHERE s.status_code = {StatusCode.ERROR:d}) AS error_count, "
        "SUM(s.total_tokens) AS total_tokens, SUM(s.cost_usd) AS cost_usd, "
        "percentile_cont(%s::float8[]) WITHIN GROUP (ORDER BY s.duration_ns) AS percentiles "
        # The `<> ''` lets Postgres use the partial index, which holds only the spans with a value.
        f'FROM spans s WHERE s."{column}" <> \'\' AND s."{column}" = v.value '
        f"AND s.start_unix_nano >= b.lower AND s.start_unix_nano <= b.upper{matching}) f "
        "WHERE f.span_count > 0 ORDER BY b.bucket, v.value"
    )
    names = ("bucket", "group", "trace_count", "span_count", "error_count", "total_tokens", "cost_usd", "percentiles")
    with connections[router.db_for_read(Span)].cursor() as cursor:  # a replica when the request reads from one
        cursor.execute(sql, [*params, list(buckets), lowers, uppers, values, list(percentiles)])
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

"""What ingest needs to know of the spans already stored, asked by key so the cost follows the batch, not the trace.

`stored_spans` reads the spans of given (trace id, span id) keys (the unique index answers it);
`children_counts` counts, per trace, the stored spans whose parent is one of given (trace id, span id) keys
(`spans_children_idx`). On Postgres each is one query joining the keys sent as two arrays; SQLite, whose
statements take a bounded number of parameters, gets them in chunks.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator

from django.db import connection
from django.db.models import Count, Q

from traces.models import Span
from traces.summary import TopSpan

# The start-time range is a constant of the statement, so Postgres reads only the day partitions it covers. Each
# key is looked up on its own (LATERAL): with a plain join, a stale row estimate for the range let the planner hash
# every span of the range instead, a cost that grew with the trace.
_STORED_SPANS_SQL = """
SELECT s.trace_id, s.span_id, s.parent_span_id, s.name, s.start_unix_nano, s.service, s.environment
FROM unnest(%s::text[], %s::text[]) AS k(trace_id, span_id)
CROSS JOIN LATERAL (
    SELECT trace_id, span_id, parent_span_id, name, start_unix_nano, service, environment FROM spans
    WHERE spans.trace_id = k.trace_id AND spans.span_id = k.span_id AND spans.start_unix_nano BETWEEN %s AND %s
    LIMIT 1
) AS s
"""
_CHILDREN_COUNTS_SQL = """
SELECT k.trace_id, sum(c.children)::bigint
FROM unnest(%s::text[], %s::text[]) AS k(trace_id, span_id)
CROSS JOIN LATERAL (
    SELECT count(*) AS children FROM spans
    WHERE spans.trace_id = k.trace_id AND spans.parent_span_id = k.span_id
    AND spans.start_unix_nano BETWEEN %s AND %s
) AS c
WHERE c.children > 0
GROUP BY k.trace_id
"""
_ANY_TIME = (-(2**63), 2**63 - 1)
_TOP_COLUMNS = ("trace_id", "span_id", "parent_span_id", "name", "start_unix_nano", "service", "environment")
_SQLITE_CHUNK = 400  # keys per statement, well under SQLite's parameter limit


def stored_spans(
    keys: Iterable[tuple[str, str]], within: tuple[int, int] | None = None
) -> dict[tuple[str, str], TopSpan]:
    """The stored spans among `keys`, each with what could make it a trace's top span (`within`: a range that
    holds their start times)."""
    keys = list(keys)
    if not keys:
        return {}
    start, end = within or _ANY_TIME
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_STORED_SPANS_SQL, [[t for t, _ in keys], [s for _, s in keys], start, end])
            rows = cursor.fetchall()
    else:
        rows = [
            row
            for chunk in _chunks(keys)
            for row in Span.objects.filter(_any_of(chunk, "span_id"), start_unix_nano__range=(start, end)).values_list(
                *_TOP_COLUMNS
            )
        ]
    return {
        (trace_id, span_id): TopSpan(span_id, not parent, start, name, service, environment)
        for trace_id, span_id, parent, name, start, service, environment in rows
    }


def children_counts(parents: Iterable[tuple[str, str]], within: tuple[int, int] | None = None) -> Counter[str]:
    """Per trace, how many stored spans have one of `parents` as their parent (`within`: a range that holds the
    start times of the traces' stored spans)."""
    parents = list(parents)
    counts: Counter[str] = Counter()
    if not parents:
        return counts
    start, end = within or _ANY_TIME
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_CHILDREN_COUNTS_SQL, [[t for t, _ in parents], [s for _, s in parents], start, end])
            counts.update(dict(cursor.fetchall()))
        return counts
    for chunk in _chunks(parents):
        children = Span.objects.filter(_any_of(chunk, "parent_span_id"), start_unix_nano__range=(start, end))
        rows = children.values("trace_id").annotate(n=Count("id"))
        counts.update({row["trace_id"]: row["n"] for row in rows})
    return counts


def _chunks(keys: list[tuple[str, str]]) -> Iterator[list[tuple[str, str]]]:
    for start in range(0, len(keys), _SQLITE_CHUNK):
        yield keys[start : start + _SQLITE_CHUNK]


def _any_of(keys: list[tuple[str, str]], column: str) -> Q:
    by_trace: dict[str, list[str]] = defaultdict(list)
    for trace_id, span_id in keys:
        by_trace[trace_id].append(span_id)
    condition = Q()
    for trace_id, span_ids in by_trace.items():
        condition |= Q(trace_id=trace_id, **{f"{column}__in": span_ids})
    return condition

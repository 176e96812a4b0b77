"""A trace's spans in tree order (parent before child, siblings by start time, orphans at the root level), served
page by page so that the first screen of a 100,000-span trace needs neither all its rows nor all their JSON.

A trace that fits on one page (most do) is read in one query and ordered here. The first page of a larger trace
without orphans (its summary counts them exactly) is walked from the roots down
through `spans_children_idx`, reading only the spans it shows: a few queries, whatever the trace's size. Other
pages need the whole order, computed from four narrow columns of every span (id, span id, parent id, start)
and kept per process for the trace's current version (`updated_at`, `span_count`), as compact arrays, so each
page after that costs one lookup of its own rows. The cursor names the position and the last span served; when
spans arrived between two pages, the next page continues after that span in the new order (spans that arrived
before it in tree order then show on a reload). Spans caught in a parent cycle (a span its own parent
included) are reachable from no root: they come last, at the root level.
"""

import base64
import binascii
import json
import threading
from array import array
from collections import OrderedDict, defaultdict
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef

from traces.models import Trace
from traces.queries import SPAN_LIST_COLUMNS, InvalidCursor, ListedSpan, SpanNode, spans_of

# Orders kept per process, by total spans: about 11 bytes a span, so some 20 MiB at most.
_CACHED_SPANS = 2_000_000
_MAX_OFFSET = 10**12


@dataclass(frozen=True, slots=True)
class TreeOrder:
    pks: array  # Span primary keys in tree order
    depths: array
    orphans: bytearray  # 1 where the span is listed at the root level though it names a parent


@dataclass(frozen=True)
class SpanPage:
    items: list[SpanNode]
    next_cursor: str | None


_cache: OrderedDict[tuple[str, str, int], TreeOrder] = OrderedDict()
_cache_lock = threading.Lock()


def span_page(trace: Trace, limit: int, cursor: str | None) -> SpanPage:
    if cursor is None and trace.span_count <= limit:
        whole = _whole_trace(trace, limit)
        if whole is not None:
            return SpanPage(items=whole, next_cursor=None)
    if cursor is None and trace.orphan_count == 0:
        items = _walk_from_roots(trace, limit)
        last_pk = items[-1].span.pk if items else 0
        next_cursor = _encode_cursor(len(items), last_pk) if len(items) < trace.span_count else None
        return SpanPage(items=items, next_cursor=next_cursor)
    order = tree_order(trace)
    start = _start_of(order, cursor) if cursor else 0
    pks = order.pks[start : start + limit]
    rows = spans_of(trace).filter(pk__in=list(pks)).values_list(*SPAN_LIST_COLUMNS)
    by_pk = {row[0]: ListedSpan(*row) for row in rows}
    items = [
        SpanNode(span=by_pk[pk], depth=order.depths[start + i], is_orphan=bool(order.orphans[start + i]))
        for i, pk in enumerate(pks)
        if pk in by_pk  # deleted by retention since the order was computed
    ]
    end = start + len(pks)
    next_cursor = _encode_cursor(end, pks[-1]) if end < len(order.pks) else None
    return SpanPage(items=items, next_cursor=next_cursor)


def _whole_trace(trace: Trace, limit: int) -> list[SpanNode] | None:
    """All the trace's spans in tree order, from one query; None when more than `limit` are stored (spans arrived
    since the summary was read): walking from the roots costs a query per span with children, which for a trace
    this small is most of the time of the page."""
    rows = list(spans_of(trace).values_list(*SPAN_LIST_COLUMNS)[: limit + 1])
    if len(rows) > limit:
        return None
    spans = {row[0]: ListedSpan(*row) for row in rows}
    order = _order_of([(s.start_unix_nano, s.span_id, s.parent_span_id, s.pk) for s in spans.values()])
    return [
        SpanNode(span=spans[pk], depth=order.depths[i], is_orphan=bool(order.orphans[i]))
        for i, pk in enumerate(order.pks)
    ]


def _walk_from_roots(trace: Trace, limit: int) -> list[SpanNode]:
    """The first `limit` spans in tree order, depth first from the roots, for a trace without orphans.

    One query per span on the page that has children (each list of children comes with whether each child has
    some), so the page costs what its own spans cost, never what the trace holds."""
    spans = spans_of(trace).exclude(span_id=F("parent_span_id"))
    has_children = Exists(spans.filter(parent_span_id=OuterRef("span_id")))

    def children(parent: str, depth: int, budget: int) -> list[tuple[ListedSpan, bool, int]]:
        rows = (
            spans.filter(parent_span_id=parent)
            .annotate(has_children=has_children)
            .order_by("start_unix_nano", "span_id")
            .values_list(*SPAN_LIST_COLUMNS, "has_children")[:budget]
        )
        return [(ListedSpan(*row[:-1]), row[-1], depth) for row in reversed(rows)]

    nodes: list[SpanNode] = []
    stack = children("", 0, limit)
    while stack and len(nodes) < limit:
        span, with_children, depth = stack.pop()
        nodes.append(SpanNode(span=span, depth=depth, is_orphan=False))
        if with_children:
            stack.extend(children(span.span_id, depth + 1, limit - len(nodes)))
    return nodes


def tree_order(trace: Trace) -> TreeOrder:
    key = (trace.trace_id, trace.updated_at.isoformat(), trace.span_count)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    order = _compute_order(trace)
    with _cache_lock:
        _cache[key] = order
        while sum(len(cached.pks) for cached in _cache.values()) > _CACHED_SPANS and len(_cache) > 1:
            _cache.popitem(last=False)
    return order


def _compute_order(trace: Trace) -> TreeOrder:
    return _order_of(list(spans_of(trace).values_list("start_unix_nano", "span_id", "parent_span_id", "pk")))


def _order_of(spans: list[tuple[int, str, str, int]]) -> TreeOrder:
    """The tree order of spans given as (start, span id, parent span id, pk)."""
    rows = sorted(spans)
    ids = {span_id for _, span_id, _, _ in rows}
    children: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    top: list[tuple[str, str, int]] = []
    for _, span_id, parent, pk in rows:  # sorted by (start, span id), so every list below is too
        if parent and parent in ids and parent != span_id:
            children[parent].append((span_id, parent, pk))
        elif not parent or parent not in ids:
            top.append((span_id, parent, pk))
    pks, depths, orphans = array("q"), array("i"), bytearray()
    visited: set[str] = set()
    stack = [(span, 0) for span in reversed(top)]
    while stack:
        (span_id, parent, pk), depth = stack.pop()
        if span_id in visited:
            continue
        visited.add(span_id)
        pks.append(pk)
        depths.append(depth)
        orphans.append(1 if parent and depth == 0 else 0)
        stack.extend((child, depth + 1) for child in reversed(children.get(span_id, ())))
    # Spans caught in a parent cycle (their own parent included) are unreachable: list them at the root level.
    for _, span_id, _, pk in rows:
        if span_id not in visited:
            pks.append(pk)
            depths.append(0)
            orphans.append(1)
    return TreeOrder(pks=pks, depths=depths, orphans=orphans)


def _start_of(order: TreeOrder, cursor: str) -> int:
    offset, last_pk = _decode_cursor(cursor)
    if 0 < offset <= len(order.pks) and order.pks[offset - 1] == last_pk:
        return offset
    try:
        return order.pks.index(last_pk) + 1
    except ValueError:  # the last span served is gone (retention): continue at the same position
        return min(offset, len(order.pks))


def _encode_cursor(offset: int, last_pk: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([offset, last_pk]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        offset, last_pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, TypeError, RecursionError) as exc:
        raise InvalidCursor("cursor is not one this API returned") from exc
    if not all(type(value) is int and 0 <= value <= _MAX_OFFSET for value in (offset, last_pk)):
        raise InvalidCursor("cursor is not one this API returned")
    return offset, last_pk

"""Why a trace was slow: its critical path, each span's self time, and what the path's time went to.

Pure: spans in (as `TimedSpan`), a `SlownessReport` out; no ORM. The critical path is the chain of work that
the end of the trace waited for, found much as Jaeger finds it: walking back from a span's end, the child still
running at the cursor (else the one that finished last before it) is on the path up to the cursor, the
parent's own time between that child's end and the cursor is on the path too, and the walk continues inside
the child and then before the child's start. Children that ran in parallel with the chosen one and ended after
its start are not on the path. (Jaeger skips a child still running at the cursor and gives that time to the
parent, which names the parent for time it spent waiting.)

Known limits, chosen on purpose:
- A child's time outside its parent (started before it, or still running after it ended) is clipped to the
  parent, for the path and for self time alike; a child wholly outside its parent is ignored for both.
- Top-level spans (the root, orphans whose parent never arrived, spans caught in a parent cycle) are the
  children of the whole trace; time in which none of them ran is `untracked_ns`, not any span's.
- A span of zero duration never has time on the path, so it is never listed in `span_ids`.
- Retry time is a span's time from its start to the end of the backoff after its last retry event (failed
  attempts and waiting); backoff time is each retry event's `tracefoundry.retry.delay_s` after the event,
  both clipped to the span and counted only where the span is on the path.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

LLM_CATEGORIES = frozenset({"llm", "embedding"})
TOOL_CATEGORIES = frozenset({"tool", "retriever"})
TOP_CONTRIBUTORS = 5

Interval = tuple[int, int]


@dataclass(frozen=True, slots=True)
class TimedSpan:
    span_id: str
    parent_span_id: str
    name: str
    category: str
    start: int  # unix nanoseconds
    end: int
    # (event time in unix nanoseconds, backoff after it in seconds), one per retry event
    retries: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Segment:
    span_id: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Contributor:
    span_id: str
    name: str
    category: str
    critical_ns: int  # the span's time on the critical path (its self time while on the path)
    self_ns: int


@dataclass(frozen=True)
class SlownessReport:
    span_ids: list[str]  # spans with time on the critical path, in the order the path reaches them
    segments: list[Segment]  # the path, in time order
    self_time_ns: dict[str, int]
    top_contributors: list[Contributor]
    path_ns: int  # from the first span's start to the last span's end
    llm_ns: int
    tool_ns: int
    own_ns: int  # agents', chains' and other spans' own work on the path
    untracked_ns: int
    retry_ns: int
    backoff_ns: int
    critical_ns: dict[str, int] = field(default_factory=dict)


def analyse(spans: Iterable[TimedSpan]) -> SlownessReport:
    by_id: dict[str, TimedSpan] = {}
    for span in spans:
        by_id.setdefault(span.span_id, span)
    if not by_id:
        return SlownessReport([], [], {}, [], 0, 0, 0, 0, 0, 0, 0)
    tops, children = _tree(by_id)
    self_time = {
        span_id: _self_time(span, children[span_id]) if span_id in children else span.end - span.start
        for span_id, span in by_id.items()
    }
    start = min(span.start for span in by_id.values())
    end = max(span.end for span in by_id.values())
    segments, untracked = _critical_segments(tops, children, start, end)
    critical: dict[str, int] = defaultdict(int)
    for segment in segments:
        critical[segment.span_id] += segment.end - segment.start
    by_category = _time_by_category(critical, by_id)
    retry_ns, backoff_ns = _retry_time(segments, by_id)
    contributors = sorted(critical, key=lambda span_id: (-critical[span_id], span_id))[:TOP_CONTRIBUTORS]
    return SlownessReport(
        span_ids=list(dict.fromkeys(segment.span_id for segment in segments)),
        segments=segments,
        self_time_ns=self_time,
        top_contributors=[
            Contributor(
                span_id=span_id,
                name=by_id[span_id].name,
                category=by_id[span_id].category,
                critical_ns=critical[span_id],
                self_ns=self_time[span_id],
            )
            for span_id in contributors
        ],
        path_ns=end - start,
        llm_ns=by_category["llm"],
        tool_ns=by_category["tool"],
        own_ns=by_category["own"],
        untracked_ns=untracked,
        retry_ns=retry_ns,
        backoff_ns=backoff_ns,
        critical_ns=dict(critical),
    )


def _tree(by_id: dict[str, TimedSpan]) -> tuple[list[TimedSpan], dict[str, list[TimedSpan]]]:
    """Top-level spans and each span's children, as `traces.span_tree` orders the tree: a span whose
    parent is missing, or which a parent cycle makes unreachable, is top-level."""
    linked: dict[str, list[TimedSpan]] = defaultdict(list)
    tops: list[TimedSpan] = []
    for span in by_id.values():
        if span.parent_span_id in by_id and span.parent_span_id != span.span_id:
            linked[span.parent_span_id].append(span)
        else:
            tops.append(span)
    children: dict[str, list[TimedSpan]] = defaultdict(list)
    visited: set[str] = set()
    queue = [span.span_id for span in tops]
    while True:
        while queue:
            span_id = queue.pop()
            if span_id in visited:
                continue
            visited.add(span_id)
            for child in linked[span_id]:
                if child.span_id not in visited:
                    children[span_id].append(child)
                    queue.append(child.span_id)
        if len(visited) == len(by_id):
            return tops, children
        cycle_member = min(
            (span for span in by_id.values() if span.span_id not in visited), key=lambda s: (s.start, s.span_id)
        )
        tops.append(cycle_member)
        queue.append(cycle_member.span_id)


def _clipped(span: TimedSpan, low: int, high: int) -> Interval | None:
    start, end = max(span.start, low), min(span.end, high)
    return (start, end) if start <= end and span.start <= high and span.end >= low else None


def _self_time(span: TimedSpan, children: list[TimedSpan]) -> int:
    intervals = sorted(
        interval for child in children if (interval := _clipped(child, span.start, span.end)) is not None
    )
    covered, cursor = 0, span.start
    for start, end in intervals:
        start = max(start, cursor)
        if end > start:
            covered += end - start
            cursor = end
    return span.end - span.start - covered


@dataclass
class _Frame:
    span_id: str  # "" for the whole trace
    low: int
    cursor: int  # the walk has placed everything after this on the path
    kids: list[tuple[Interval, TimedSpan]]
    index: int = 0


def _kids(children: list[TimedSpan], low: int, high: int) -> list[tuple[Interval, TimedSpan]]:
    clipped = [(interval, child) for child in children if (interval := _clipped(child, low, high)) is not None]
    # Last to finish first; on a tie, the later start (the work that was waited for last), then the id.
    clipped.sort(key=lambda item: (-item[0][1], -item[0][0], item[1].span_id))
    return clipped


def _critical_segments(
    tops: list[TimedSpan], children: dict[str, list[TimedSpan]], start: int, end: int
) -> tuple[list[Segment], int]:
    backwards: list[Segment] = []
    untracked = 0
    frames = [_Frame("", start, end, _kids(tops, start, end))]
    while frames:
        frame = frames[-1]
        chosen: tuple[Interval, TimedSpan] | None = None
        while frame.index < len(frame.kids):
            candidate = frame.kids[frame.index]
            frame.index += 1
            # Kids come last-finishing first, so the first one that began before the cursor (or is an instant
            # at or before it) reaches furthest towards it; one wholly after the cursor never can again.
            if candidate[0][0] < frame.cursor or candidate[0][1] <= frame.cursor:
                chosen = candidate
                break
        if chosen is None:
            untracked += _own(backwards, frame.span_id, frame.low, frame.cursor)
            frames.pop()
            continue
        (kid_start, kid_end), kid = chosen
        reached = min(kid_end, frame.cursor)
        untracked += _own(backwards, frame.span_id, reached, frame.cursor)
        frame.cursor = kid_start
        grandkids = _kids(children[kid.span_id], kid_start, kid_end) if kid.span_id in children else []
        frames.append(_Frame(kid.span_id, kid_start, reached, grandkids))
    return _merged(reversed(backwards)), untracked


def _merged(segments: Iterable[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for segment in segments:
        if merged and merged[-1].span_id == segment.span_id and merged[-1].end == segment.start:
            merged[-1] = Segment(segment.span_id, merged[-1].start, segment.end)
        else:
            merged.append(segment)
    return merged


def _own(backwards: list[Segment], span_id: str, start: int, end: int) -> int:
    """Record [start, end) as the span's own time on the path; answers the time no span covered."""
    if end <= start:
        return 0
    if not span_id:
        return end - start
    backwards.append(Segment(span_id, start, end))
    return 0


def _time_by_category(critical: dict[str, int], by_id: dict[str, TimedSpan]) -> dict[str, int]:
    totals = {"llm": 0, "tool": 0, "own": 0}
    for span_id, nanos in critical.items():
        category = by_id[span_id].category
        kind = "llm" if category in LLM_CATEGORIES else "tool" if category in TOOL_CATEGORIES else "own"
        totals[kind] += nanos
    return totals


def _retry_time(segments: list[Segment], by_id: dict[str, TimedSpan]) -> tuple[int, int]:
    on_path: dict[str, list[Interval]] = defaultdict(list)
    for segment in segments:
        on_path[segment.span_id].append((segment.start, segment.end))
    retry_ns = backoff_ns = 0
    for span_id, intervals in on_path.items():
        span = by_id[span_id]
        if not span.retries:
            continue
        backoffs = [(at, min(span.end, at + int(delay * 1e9))) for at, delay in span.retries]
        last_wait_end = max(end for _, end in backoffs)
        retry_ns += _overlap([(span.start, min(span.end, last_wait_end))], intervals)
        backoff_ns += _overlap(backoffs, intervals)
    return retry_ns, backoff_ns


def _overlap(windows: list[Interval], intervals: list[Interval]) -> int:
    return sum(
        max(0, min(w_end, i_end) - max(w_start, i_start)) for w_start, w_end in windows for i_start, i_end in intervals
    )

"""The checks of a dry replay that need nothing but the spans: tree, timing, clock skew, structure comparison.

Pure: no ORM, no I/O. Each check returns a `Check` (name, ok, detail, and the individual findings), which the
dry-replay use case (`bundles.dry_replay`) puts into its report.

- Tree: the parent/child tree rebuilt from span ids; duplicate span ids, orphans (parent never received),
  cycles (spans whose parent chain never reaches a root) and the absence of any root fail it.
- Timing: a child starting before its parent or ending after it by more than the tolerance, within one
  service, fails it; so does an event outside its span.
- Clock skew: the same, across a service boundary, where it most likely means the two hosts' clocks disagree;
  the offset is estimated per (parent service, child service) pair.
- Structure: two traces compared span by span in tree order (depth and name); every difference is listed.
"""

import difflib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from payloads.contracts import OtlpSpan
from traces.semconv import service_of

DEFAULT_TOLERANCE_NS = 1_000_000  # 1 ms: timestamps taken by different threads of one process may disagree a little
_MAX_LISTED = 50


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    findings: tuple[str, ...] = ()
    skipped: bool = False


@dataclass(frozen=True, slots=True)
class SpanTree:
    spans: dict[str, OtlpSpan]
    children: dict[str, list[str]]
    roots: list[str]
    orphans: list[str]
    cycles: list[list[str]]
    duplicates: list[str]
    max_depth: int
    order: list[tuple[int, str]] = field(default_factory=list)  # (depth, span id) in tree order


def build_tree(spans: Sequence[OtlpSpan]) -> SpanTree:
    """The span tree; of spans sharing an id, the first one counts (as ingest keeps the first one)."""
    counts = Counter(span.span_id for span in spans)
    by_id: dict[str, OtlpSpan] = {}
    for span in spans:
        by_id.setdefault(span.span_id, span)
    children: dict[str, list[str]] = defaultdict(list)
    roots, orphans = [], []
    for span_id, span in by_id.items():
        parent = span.parent_span_id
        if not parent:
            roots.append(span_id)
        elif parent not in by_id:
            orphans.append(span_id)
        else:
            children[parent].append(span_id)
    for ids in children.values():
        ids.sort(key=lambda i: (by_id[i].start_unix_nano, i))
    tops = sorted(roots + orphans, key=lambda i: (by_id[i].start_unix_nano, i))
    order: list[tuple[int, str]] = []
    stack = [(0, span_id) for span_id in reversed(tops)]
    while stack:
        depth, span_id = stack.pop()
        order.append((depth, span_id))
        stack.extend((depth + 1, child) for child in reversed(children.get(span_id, [])))
    reached = {span_id for _, span_id in order}
    return SpanTree(
        spans=by_id,
        children=dict(children),
        roots=sorted(roots, key=lambda i: (by_id[i].start_unix_nano, i)),
        orphans=sorted(orphans),
        cycles=_cycles(by_id, reached),
        duplicates=sorted(span_id for span_id, count in counts.items() if count > 1),
        max_depth=max((depth for depth, _ in order), default=0),
        order=order,
    )


def _cycles(by_id: dict[str, OtlpSpan], reached: set[str]) -> list[list[str]]:
    # Spans never reached from a root or orphan have a parent chain that loops; walk each chain to its loop.
    cycles: list[list[str]] = []
    done: set[str] = set(reached)
    for start in sorted(set(by_id) - reached):
        path: list[str] = []
        position: dict[str, int] = {}
        current = start
        while current not in done and current not in position:
            position[current] = len(path)
            path.append(current)
            current = by_id[current].parent_span_id
        if current in position:
            cycles.append(path[position[current] :])
        done.update(path)
    return cycles


def tree_check(tree: SpanTree) -> Check:
    findings = [f"duplicate span id {span_id}" for span_id in tree.duplicates]
    findings += [
        f"orphan span {span_id} ({tree.spans[span_id].name!r}): parent {tree.spans[span_id].parent_span_id} "
        "was never received"
        for span_id in tree.orphans
    ]
    findings += [f"cycle: {' -> '.join(cycle)} -> {cycle[0]}" for cycle in tree.cycles]
    if not tree.roots and tree.spans:
        findings.append("no root span (every span has a parent)")
    summary = (
        f"{len(tree.spans)} spans, {len(tree.roots)} root(s), depth {tree.max_depth}, "
        f"{len(tree.orphans)} orphan(s), {len(tree.cycles)} cycle(s), {len(tree.duplicates)} duplicate id(s)"
    )
    return Check("span_tree", not findings, summary, _listed(findings))


def timing_checks(tree: SpanTree, tolerance_ns: int = DEFAULT_TOLERANCE_NS) -> tuple[Check, Check]:
    """(timing, clock_skew): children inside parents and events inside spans, within one service or across."""
    inside: list[str] = []
    skew_by_pair: dict[tuple[str, str], int] = {}
    skew_counts: Counter[tuple[str, str]] = Counter()
    for parent_id, child_ids in tree.children.items():
        parent = tree.spans[parent_id]
        parent_service = service_of(parent.resource_attributes)
        for child_id in child_ids:
            child = tree.spans[child_id]
            early = parent.start_unix_nano - child.start_unix_nano
            late = child.end_unix_nano - parent.end_unix_nano
            if early <= tolerance_ns and late <= tolerance_ns:
                continue
            child_service = service_of(child.resource_attributes)
            if child_service != parent_service:
                pair = (parent_service, child_service)
                offset = early if early > tolerance_ns else -late
                if abs(offset) > abs(skew_by_pair.get(pair, 0)):
                    skew_by_pair[pair] = offset
                skew_counts[pair] += 1
                continue
            if early > tolerance_ns:
                inside.append(f"span {child_id} ({child.name!r}) starts {_ms(early)} before its parent {parent_id}")
            if late > tolerance_ns:
                inside.append(f"span {child_id} ({child.name!r}) ends {_ms(late)} after its parent {parent_id}")
    for span_id, span in tree.spans.items():
        for event in span.events:
            time = int(event.get("time_unix_nano", 0))
            if time and not span.start_unix_nano - tolerance_ns <= time <= span.end_unix_nano + tolerance_ns:
                inside.append(f"event {event.get('name', '')!r} of span {span_id} lies outside the span")
    tolerance = _ms(tolerance_ns)
    timing = Check(
        "timing",
        not inside,
        f"children inside parents and events inside spans, tolerance {tolerance}: {len(inside)} problem(s)",
        _listed(inside),
    )
    skews = [
        f"{child} looks {_ms(abs(offset))} {'behind' if offset > 0 else 'ahead of'} {parent} "
        f"({skew_counts[(parent, child)]} span(s) outside their parent)"
        for (parent, child), offset in sorted(skew_by_pair.items())
    ]
    skew = Check(
        "clock_skew",
        not skews,
        f"cross-service parent/child timing, tolerance {tolerance}: "
        + ("no skew found" if not skews else f"{len(skews)} service pair(s) disagree"),
        _listed(skews),
    )
    return timing, skew


def structure_differences(recorded: Sequence[OtlpSpan], replayed: Sequence[OtlpSpan]) -> list[str]:
    """Span-by-span differences in tree order (depth and name) between a recorded trace and a re-run."""
    left = _shape(recorded)
    right = _shape(replayed)
    differences = []
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag in ("replace", "delete"):
            differences += [f"recorded span #{i + 1} {_describe(left[i])} is not in the re-run" for i in range(i1, i2)]
        if tag in ("replace", "insert"):
            differences += [f"re-run span #{j + 1} {_describe(right[j])} was not recorded" for j in range(j1, j2)]
    return differences


def _shape(spans: Sequence[OtlpSpan]) -> list[tuple[int, str]]:
    tree = build_tree(spans)
    return [(depth, tree.spans[span_id].name) for depth, span_id in tree.order]


def _describe(item: tuple[int, str]) -> str:
    return f"{item[1]!r} at depth {item[0]}"


def _ms(nanoseconds: int) -> str:
    return f"{nanoseconds / 1_000_000:.3f} ms"


def _listed(findings: list[str]) -> tuple[str, ...]:
    if len(findings) <= _MAX_LISTED:
        return tuple(findings)
    return (*findings[:_MAX_LISTED], f"... and {len(findings) - _MAX_LISTED} more")

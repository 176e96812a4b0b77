"""Span tree, timing, clock-skew and structure checks of dry replay, on spans built in memory."""

from bundles.replay_checks import build_tree, structure_differences, timing_checks, tree_check
from bundles.tests.factories import otlp_spans
from payloads.contracts import OtlpSpan
from testing.factories import SpanSpec

TRACE = "1" * 32
START = 1_767_225_600_000_000_000
MS = 1_000_000


def _span(
    span_id: str,
    parent: str = "",
    start_ms: float = 0,
    duration_ms: float = 10,
    name: str = "",
    events: list[tuple[str, dict]] | None = None,
) -> SpanSpec:
    return SpanSpec(
        TRACE,
        span_id * 16,
        name or f"span {span_id}",
        parent * 16 if parent else "",
        START + int(start_ms * MS),
        int(duration_ms * MS),
        events=events or [],
    )


def _spans(*specs: SpanSpec, service: str = "svc-a") -> list[OtlpSpan]:
    return otlp_spans(list(specs), service=service)


def test_a_clean_tree_passes_with_its_shape() -> None:
    tree = build_tree(
        _spans(
            _span("a", duration_ms=100),
            _span("b", "a", 1, 10),
            _span("c", "b", 2, 5),
            _span("d", "a", 20, 10),
        )
    )

    check = tree_check(tree)

    assert check.ok
    assert check.detail.startswith("4 spans, 1 root(s), depth 2, 0 orphan(s), 0 cycle(s)")
    assert [(depth, span_id[0]) for depth, span_id in tree.order] == [(0, "a"), (1, "b"), (2, "c"), (1, "d")]


def test_orphans_cycles_and_duplicate_ids_are_reported() -> None:
    spans = _spans(
        _span("a"),
        _span("b", "f"),  # b's parent f never arrived
        _span("c", "d"),
        _span("d", "c"),  # c and d point at each other
        _span("e", "e"),  # e is its own parent
        _span("a", name="second a"),
    )

    check = tree_check(build_tree(spans))

    assert not check.ok
    assert check.findings == (
        f"duplicate span id {'a' * 16}",
        f"orphan span {'b' * 16} ('span b'): parent {'f' * 16} was never received",
        f"cycle: {'c' * 16} -> {'d' * 16} -> {'c' * 16}",
        f"cycle: {'e' * 16} -> {'e' * 16}",
    )


def test_a_trace_without_any_root_fails() -> None:
    check = tree_check(build_tree(_spans(_span("c", "d"), _span("d", "c"))))

    assert not check.ok
    assert "no root span (every span has a parent)" in check.findings


def test_children_outside_their_parent_fail_the_timing_check() -> None:
    tree = build_tree(
        _spans(
            _span("a", duration_ms=100),
            _span("b", "a", -5, 10),  # starts 5 ms before its parent
            _span("c", "a", 95, 20),  # ends 15 ms after its parent
            _span("d", "a", 99.5, 1.2, events=[]),  # 0.7 ms late: within the 1 ms tolerance
        )
    )

    timing, skew = timing_checks(tree)

    assert not timing.ok
    assert skew.ok
    assert timing.findings == (
        f"span {'b' * 16} ('span b') starts 5.000 ms before its parent {'a' * 16}",
        f"span {'c' * 16} ('span c') ends 15.000 ms after its parent {'a' * 16}",
    )


def test_events_outside_their_span_fail_the_timing_check() -> None:
    spans = _spans(_span("a", duration_ms=10, events=[("ok", {})]))
    late = [
        OtlpSpan(
            **{
                **{f: getattr(s, f) for f in s.__slots__},
                "events": [{"name": "late", "time_unix_nano": s.end_unix_nano + 5 * MS}],
            }
        )
        for s in spans
    ]

    timing, _ = timing_checks(build_tree(late))

    assert not timing.ok
    assert timing.findings == (f"event 'late' of span {'a' * 16} lies outside the span",)


def test_cross_service_offsets_are_reported_as_clock_skew() -> None:
    parent = _spans(_span("a", duration_ms=100), service="gateway")
    children = _spans(_span("b", "a", -40, 20), _span("c", "a", -30, 20), service="worker")

    timing, skew = timing_checks(build_tree(parent + children))

    assert timing.ok
    assert not skew.ok
    assert skew.findings == ("worker looks 40.000 ms behind gateway (2 span(s) outside their parent)",)


def test_identical_structures_have_no_differences() -> None:
    spans = _spans(_span("a", duration_ms=100), _span("b", "a", 1), _span("c", "a", 20))
    rerun = _spans(
        _span("1", duration_ms=90, name="span a"),
        _span("2", "1", 3, name="span b"),
        _span("3", "1", 25, name="span c"),
    )

    assert structure_differences(spans, rerun) == []


def test_structure_differences_are_listed_span_by_span() -> None:
    recorded = _spans(
        _span("a", duration_ms=100, name="agent"),
        _span("b", "a", 1, name="execute_tool search"),
        _span("c", "a", 20, name="chat"),
    )
    rerun = _spans(
        _span("a", duration_ms=100, name="agent"),
        _span("b", "a", 1, name="execute_tool calculator"),
        _span("c", "a", 20, name="chat"),
        _span("d", "a", 40, name="chat"),
    )

    assert structure_differences(recorded, rerun) == [
        "recorded span #2 'execute_tool search' at depth 1 is not in the re-run",
        "re-run span #2 'execute_tool calculator' at depth 1 was not recorded",
        "re-run span #4 'chat' at depth 1 was not recorded",
    ]

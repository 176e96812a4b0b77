"""Critical path and self time on hand-built span trees with known answers (times in milliseconds)."""

from traces.critical_path import Segment, TimedSpan, analyse

MS = 1_000_000


def span(span_id: str, parent: str, start_ms: int, end_ms: int, category: str = "agent", **kw) -> TimedSpan:
    return TimedSpan(span_id, parent, f"op {span_id}", category, start_ms * MS, end_ms * MS, **kw)


def path(report) -> list[tuple[str, int, int]]:
    return [(s.span_id, s.start // MS, s.end // MS) for s in report.segments]


def test_sequential_children_and_the_parents_own_time_between_them() -> None:
    report = analyse([span("root", "", 0, 100), span("a", "root", 10, 40, "llm"), span("b", "root", 50, 90, "tool")])

    assert path(report) == [("root", 0, 10), ("a", 10, 40), ("root", 40, 50), ("b", 50, 90), ("root", 90, 100)]
    assert report.span_ids == ["root", "a", "b"]
    assert report.self_time_ns == {"root": 30 * MS, "a": 30 * MS, "b": 40 * MS}
    assert (report.llm_ns, report.tool_ns, report.own_ns, report.untracked_ns) == (30 * MS, 40 * MS, 30 * MS, 0)
    assert [(c.span_id, c.critical_ns // MS) for c in report.top_contributors] == [("b", 40), ("a", 30), ("root", 30)]


def test_parallel_children_only_the_one_waited_for_is_on_the_path() -> None:
    report = analyse(
        [
            span("root", "", 0, 100),
            span("slow", "root", 0, 80, "llm"),
            span("fast", "root", 10, 60, "tool"),
            span("tail", "root", 85, 95, "tool"),
        ]
    )

    assert path(report) == [("slow", 0, 80), ("root", 80, 85), ("tail", 85, 95), ("root", 95, 100)]
    assert "fast" not in report.span_ids
    assert report.self_time_ns["root"] == 10 * MS
    assert report.self_time_ns["fast"] == 50 * MS
    assert report.path_ns == sum(s.end - s.start for s in report.segments) + report.untracked_ns


def test_overlapping_children_the_earlier_one_leads_up_to_the_later_ones_start() -> None:
    report = analyse([span("root", "", 0, 100), span("a", "root", 0, 70), span("b", "root", 60, 100)])

    assert path(report) == [("a", 0, 60), ("b", 60, 100)]
    assert report.self_time_ns["root"] == 0
    assert report.critical_ns == {"a": 60 * MS, "b": 40 * MS}


def test_orphans_are_top_level_and_time_in_no_span_is_untracked() -> None:
    report = analyse([span("root", "", 0, 50), span("orphan", "never-arrived", 70, 120, "tool")])

    assert path(report) == [("root", 0, 50), ("orphan", 70, 120)]
    assert report.untracked_ns == 20 * MS
    assert report.path_ns == 120 * MS


def test_orphan_overlapping_the_root_takes_over_where_it_starts() -> None:
    report = analyse([span("root", "", 0, 50), span("orphan", "never-arrived", 40, 120)])

    assert path(report) == [("root", 0, 40), ("orphan", 40, 120)]


def test_zero_duration_spans_have_no_time_and_are_not_listed() -> None:
    report = analyse([span("root", "", 0, 100), span("instant", "root", 30, 30), span("a", "root", 40, 60)])

    assert path(report) == [("root", 0, 40), ("a", 40, 60), ("root", 60, 100)]
    assert report.span_ids == ["root", "a"]
    assert report.self_time_ns["instant"] == 0
    assert report.self_time_ns["root"] == 80 * MS


def test_a_child_running_past_its_parent_is_clipped_to_it() -> None:
    report = analyse(
        [
            span("root", "", 0, 100),
            span("a", "root", 0, 50),
            span("late", "a", 40, 90, "tool"),
            span("b", "root", 60, 80),
            span("after", "b", 85, 95),
        ]
    )

    assert path(report) == [("a", 0, 40), ("late", 40, 50), ("root", 50, 60), ("b", 60, 80), ("root", 80, 100)]
    assert report.self_time_ns["a"] == 40 * MS
    assert report.self_time_ns["b"] == 20 * MS
    assert report.self_time_ns["root"] == 30 * MS


def test_a_single_zero_duration_span_has_an_empty_path() -> None:
    report = analyse([span("root", "", 5, 5)])

    assert (report.segments, report.span_ids, report.path_ns) == ([], [], 0)
    assert report.self_time_ns == {"root": 0}


def test_parent_cycles_do_not_loop() -> None:
    report = analyse([span("x", "y", 0, 10), span("y", "x", 2, 8)])

    assert report.segments == [Segment("x", 0, 2 * MS), Segment("y", 2 * MS, 8 * MS), Segment("x", 8 * MS, 10 * MS)]


def test_retry_and_backoff_time_on_the_path() -> None:
    retries = ((200 * MS, 0.3), (600 * MS, 0.1))  # failed attempts end at 200 and 600, then wait 300 and 100
    report = analyse([span("root", "", 0, 1000), span("llm", "root", 0, 1000, "llm", retries=retries)])

    assert report.retry_ns == 700 * MS
    assert report.backoff_ns == 400 * MS
    assert report.llm_ns == 1000 * MS


def test_retries_off_the_path_do_not_count() -> None:
    retries = ((10 * MS, 0.02),)
    report = analyse(
        [span("root", "", 0, 100), span("side", "root", 0, 40, "tool", retries=retries), span("main", "root", 0, 100)]
    )

    assert "side" not in report.span_ids
    assert (report.retry_ns, report.backoff_ns) == (0, 0)

"""`GET /api/metrics`: buckets, counts, error rates, exact percentiles, groups and the per-tool/per-model tables."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from testing.factories import NOW_NS, SpanSpec, export_request, new_span_id, new_trace_id
from traces.ingest import ingest_request
from traces.metrics import metrics
from traces.queries import TraceFilters
from traces.timefmt import iso_from_unix_nano

MINUTE = 60_000_000_000
MS = 1_000_000
# A minute boundary an hour ago: every bucket of the tests starts at a known time.
BASE = (NOW_NS // MINUTE - 60) * MINUTE


def run(minute: int, duration_ms: int, service: str = "agent", error: bool = False, calls=()) -> str:
    """A trace starting `minute` minutes after BASE, with child spans (model or tool, duration ms, error)."""
    trace_id, root = new_trace_id(), new_span_id()
    start = BASE + minute * MINUTE + 1000
    spans = [
        SpanSpec(trace_id, root, "run", start_ns=start, duration_ns=duration_ms * MS, status_code=2 if error else 0)
    ]
    for kind, name, ms, failed in calls:
        attributes = (
            {"gen_ai.request.model": name, "gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 100}
            if kind == "model"
            else {"gen_ai.tool.name": name, "gen_ai.operation.name": "execute_tool"}
        )
        spans.append(
            SpanSpec(
                trace_id, new_span_id(), name, root, start + 1, ms * MS, attributes, status_code=2 if failed else 0
            )
        )
    ingest_request(export_request(spans, service=service))
    return trace_id


def iso(minute: int) -> str:
    return iso_from_unix_nano(BASE + minute * MINUTE)


def window(minutes: int) -> dict[str, str]:
    return {"start": iso_from_unix_nano(BASE), "end": iso_from_unix_nano(BASE + minutes * MINUTE - 1)}


@pytest.mark.django_db
class TestMetrics:
    def test_buckets_counts_and_exact_percentiles(self, api: Client) -> None:
        for ms in (10, 20, 30, 40):
            run(0, ms)
        run(0, 40, error=True)  # minute 0: 10, 20, 30, 40, 40 ms
        run(2, 100)  # minute 2: one trace; minute 1 is empty

        body = api.get("/api/metrics", {**window(3), "bucket_seconds": "60"}).json()
        assert body["bucket_seconds"] == 60
        assert body["buckets"] == [iso_from_unix_nano(BASE + i * MINUTE) for i in range(3)]
        first, last = body["series"]
        assert first["bucket_start"] == body["buckets"][0]
        assert (first["trace_count"], first["span_count"], first["error_count"]) == (5, 5, 1)
        assert first["error_rate"] == 0.2
        # Linear interpolation between the nearest ranks, as percentile_cont: positions 2, 3.8 and 3.96 of 0..4.
        assert (first["p50_ms"], first["p95_ms"], first["p99_ms"]) == pytest.approx((30.0, 40.0, 40.0))
        assert last["bucket_start"] == body["buckets"][2]
        assert (last["trace_count"], last["p50_ms"], last["p99_ms"]) == (1, 100.0, 100.0)

    def test_percentiles_between_values(self, api: Client) -> None:
        for ms in (10, 20, 30, 40):
            run(0, ms)
        point = api.get("/api/metrics", {**window(1), "bucket_seconds": "60"}).json()["series"][0]
        # n = 4: p50 at position 1.5 → 25; p95 at 2.85 → 38.5; p99 at 2.97 → 39.7.
        assert (point["p50_ms"], point["p95_ms"], point["p99_ms"]) == pytest.approx((25.0, 38.5, 39.7))

    def test_percentiles_of_a_hundred_values(self, api: Client) -> None:
        for ms in range(1, 101):
            run(0, ms)
        point = api.get("/api/metrics", {**window(1), "bucket_seconds": "60"}).json()["series"][0]
        assert (point["p50_ms"], point["p95_ms"], point["p99_ms"]) == pytest.approx((50.5, 95.05, 99.01))

    def test_grouped_by_service(self, api: Client) -> None:
        run(0, 10, service="billing")
        run(0, 30, service="billing", error=True)
        run(0, 50, service="search")
        series = api.get("/api/metrics", {**window(1), "group_by": "service", "bucket_seconds": "60"}).json()["series"]
        by_group = {p["group"]: p for p in series}
        assert set(by_group) == {"billing", "search"}
        assert (by_group["billing"]["trace_count"], by_group["billing"]["error_rate"]) == (2, 0.5)
        assert by_group["billing"]["p50_ms"] == pytest.approx(20.0)
        assert by_group["search"]["p50_ms"] == pytest.approx(50.0)

    def test_grouped_by_model_measures_the_calls(self, api: Client) -> None:
        run(0, 500, calls=[("model", "gpt-4o", 100, False), ("model", "gpt-4o", 300, True)])
        run(0, 500, calls=[("model", "claude", 50, False), ("tool", "search", 20, False)])
        series = api.get("/api/metrics", {**window(1), "group_by": "model", "bucket_seconds": "60"}).json()["series"]
        by_group = {p["group"]: p for p in series}
        assert set(by_group) == {"gpt-4o", "claude"}
        gpt = by_group["gpt-4o"]
        assert (gpt["trace_count"], gpt["span_count"], gpt["error_count"], gpt["error_rate"]) == (1, 2, 1, 0.5)
        assert gpt["p50_ms"] == pytest.approx(200.0)
        assert gpt["total_tokens"] == 200

    def test_grouped_by_model_bucket_by_bucket_equals_one_grouped_statement(
        self, api: Client, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        run(0, 500, calls=[("model", "gpt-4o", 100, False), ("model", "gpt-4o", 300, True)])
        run(1, 500, service="billing", calls=[("model", "claude", 50, False), ("model", "gpt-4o", 70, False)])
        late = new_trace_id()  # its model call starts two minutes after the trace, the last trace to start
        root = new_span_id()
        start = BASE + 2 * MINUTE
        model = {"gen_ai.request.model": "gpt-4o", "gen_ai.operation.name": "chat"}
        ingest_request(
            export_request(
                [
                    SpanSpec(late, root, "run", start_ns=start, duration_ns=3 * MINUTE),
                    SpanSpec(late, new_span_id(), "chat", root, start + 2 * MINUTE, 40 * MS, model),
                ]
            )
        )
        cases = [{}, {"service": "billing"}, window(2), {**window(3), "status": "ok"}]
        answers = [api.get("/api/metrics", {**p, "group_by": "model", "bucket_seconds": "60"}).json() for p in cases]
        monkeypatch.setattr("traces.span_metrics.MAX_GROUPS", 0)  # Postgres, too, in one grouped statement
        grouped = [api.get("/api/metrics", {**p, "group_by": "model", "bucket_seconds": "60"}).json() for p in cases]

        assert answers == grouped
        everything = answers[0]
        assert {p["bucket_start"] for p in everything["series"]} <= set(everything["buckets"])
        assert [(p["group"], p["span_count"]) for p in everything["series"] if p["bucket_start"] > iso(3)] == [
            ("gpt-4o", 1)
        ]
        assert [(p["group"], p["trace_count"]) for p in answers[1]["series"]] == [("claude", 1), ("gpt-4o", 1)]
        assert sum(p["span_count"] for p in answers[2]["series"]) == 4

    def test_tool_and_model_tables(self, api: Client) -> None:
        run(0, 900, calls=[("tool", "search", 10, False), ("tool", "search", 30, True), ("tool", "sql", 5, False)])
        run(1, 900, calls=[("tool", "search", 20, False), ("model", "gpt-4o", 400, False)])
        body = api.get("/api/metrics", window(2)).json()
        tools = {row["tool"]: row for row in body["tools"]}
        assert [row["tool"] for row in body["tools"]] == ["search", "sql"]
        assert (tools["search"]["call_count"], tools["search"]["error_count"]) == (3, 1)
        assert tools["search"]["error_rate"] == pytest.approx(1 / 3)
        assert (tools["search"]["p50_ms"], tools["search"]["p99_ms"]) == pytest.approx((20.0, 29.8))
        assert tools["sql"]["p95_ms"] == pytest.approx(5.0)
        assert [(row["model"], row["call_count"], row["p50_ms"]) for row in body["models"]] == [("gpt-4o", 1, 400.0)]

    def test_tables_of_a_time_range_leave_out_the_calls_outside_it(self, api: Client) -> None:
        assert api.get("/api/metrics", {**window(2), "group_by": "tool"}).json()["tools"] == []  # no tool call yet
        run(0, 900, calls=[("tool", "search", 10, False), ("model", "gpt-4o", 400, False)])
        run(5, 900, calls=[("tool", "search", 30, False), ("tool", "sql", 5, False), ("model", "claude", 9, False)])

        body = api.get("/api/metrics", {**window(2), "group_by": "tool"}).json()
        assert [(row["tool"], row["call_count"], row["p99_ms"]) for row in body["tools"]] == [("search", 1, 10.0)]
        assert [row["model"] for row in body["models"]] == ["gpt-4o"]
        assert [(p["group"], p["span_count"]) for p in body["series"]] == [("search", 1)]
        everything = api.get("/api/metrics", {"group_by": "tool"}).json()
        assert [(row["tool"], row["call_count"]) for row in everything["tools"]] == [("search", 2), ("sql", 1)]

    def test_tables_keep_their_most_called_rows(self, api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr("traces.metrics.TABLE_ROWS", 2)
        run(0, 900, calls=[("tool", name, 5, False) for name in ("a", "b", "b", "c", "c", "c")])
        run(0, 900, calls=[("model", name, 5, False) for name in ("x", "y", "y")])

        for params in (window(1), {}):
            body = api.get("/api/metrics", params).json()
            assert [(row["tool"], row["call_count"]) for row in body["tools"]] == [("c", 3), ("b", 2)]
            assert [(row["model"], row["call_count"]) for row in body["models"]] == [("y", 2), ("x", 1)]

    def test_same_filters_as_the_trace_list(self, api: Client) -> None:
        run(0, 10, service="billing", calls=[("tool", "search", 10, False)])
        run(0, 20, service="search", error=True)
        body = api.get("/api/metrics", {**window(1), "service": "billing"}).json()
        assert sum(p["trace_count"] for p in body["series"]) == 1
        assert [row["tool"] for row in body["tools"]] == ["search"]
        errors = api.get("/api/metrics", {**window(1), "has_errors": "true"}).json()
        assert sum(p["trace_count"] for p in errors["series"]) == 1
        assert errors["tools"] == []

    def test_automatic_bucket_width_and_empty_range(self, api: Client) -> None:
        run(0, 10)
        run(59, 10)
        assert api.get("/api/metrics", window(60)).json()["bucket_seconds"] == 60
        assert api.get("/api/metrics", window(240)).json()["bucket_seconds"] == 300
        empty = api.get("/api/metrics", {"service": "nobody"}).json()
        assert (empty["buckets"], empty["series"], empty["tools"]) == ([], [], [])

    @pytest.mark.parametrize(
        ("params", "parameter"),
        [
            ({"group_by": "planet"}, "group_by"),
            ({"bucket_seconds": "0"}, "bucket_seconds"),
            # Found by make fuzz: in nanoseconds this width overflowed the database's 64-bit integers (a 500).
            ({"bucket_seconds": "9223372037"}, "bucket_seconds"),
            ({"start": "x"}, "start"),
        ],
    )
    def test_bad_parameters(self, api: Client, params: dict, parameter: str) -> None:
        response = api.get("/api/metrics", params)
        assert response.status_code == 400
        assert response.json()["parameter"] == parameter

    def test_too_many_buckets_is_400(self, api: Client) -> None:
        response = api.get("/api/metrics", {**window(600), "bucket_seconds": "1"})
        assert response.status_code == 400
        assert response.json()["parameter"] == "bucket_seconds"

    @pytest.mark.parametrize("group_by", ["", "service", "tool"])
    def test_query_count_does_not_grow_with_rows(self, api: Client, group_by: str) -> None:
        def queries() -> int:
            with CaptureQueriesContext(connection) as captured:
                assert api.get("/api/metrics", {**window(10), "group_by": group_by}).status_code == 200
            return len(captured)

        run(0, 10, calls=[("tool", "search", 10, False), ("model", "m", 5, False)])
        one = queries()
        for minute in range(9):
            run(
                minute,
                10 + minute,
                service=f"s{minute}",
                calls=[("tool", f"t{minute}", 5, False), ("model", "m", 5, False)],
            )
        assert queries() == one


@pytest.mark.django_db(transaction=True)
def test_series_and_tables_read_at_once_answer_as_read_one_after_the_other() -> None:
    """Outside a transaction Postgres reads the series and the tables on two connections at once
    (`tracefoundry_site.concurrent_reads`); inside one, one after the other on the request's."""
    for minute in range(3):
        run(minute, 10 + minute, calls=[("tool", "search", 5 + minute, minute == 1), ("model", "m", 7, False)])
    start = datetime.fromtimestamp(BASE // 1_000_000_000, tz=UTC)
    filters = TraceFilters(start=start, end=start + timedelta(minutes=3))

    at_once = {group: metrics(filters, group, 60) for group in ("", "model")}
    with transaction.atomic():
        in_turn = {group: metrics(filters, group, 60) for group in ("", "model")}

    assert at_once == in_turn
    assert [point["span_count"] for point in at_once["model"].series] == [1, 1, 1]
    assert [row["call_count"] for row in at_once[""].tools] == [3]

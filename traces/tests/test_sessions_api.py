"""Sessions: the session id stored at ingest, `GET /api/sessions` (filters, sorts, cursor) and `/api/sessions/{id}`."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from testing.factories import NOW_NS, SpanSpec, agent_trace, export_request, new_span_id, new_trace_id
from traces.ingest import ingest_request
from traces.models import Trace

SECOND = 1_000_000_000


def turn(session: str, offset_s: int, key: str = "session.id", **options) -> str:
    """One trace of a conversation: a root span (carrying the session id and an input payload) and one child."""
    trace_id, root = new_trace_id(), new_span_id()
    start = NOW_NS + offset_s * SECOND
    spans = [
        SpanSpec(
            trace_id,
            root,
            "invoke_agent support",
            start_ns=start,
            duration_ns=options.get("duration_ms", 100) * 1_000_000,
            attributes={key: session, "input.value": f"question {offset_s}"} if session else {},
            status_code=2 if options.get("error") else 0,
        ),
        SpanSpec(
            trace_id,
            new_span_id(),
            "chat gpt-4o",
            root,
            start + 1,
            attributes={
                "gen_ai.request.model": options.get("model", "gpt-4o"),
                "gen_ai.operation.name": "chat",
                "gen_ai.usage.input_tokens": options.get("tokens", 10),
            },
        ),
    ]
    ingest_request(export_request(spans))
    return trace_id


@pytest.mark.django_db
class TestSessionIdAtIngest:
    @pytest.mark.parametrize(
        "key",
        [
            "session.id",
            "gen_ai.conversation.id",
            "langfuse.session.id",
            "ai.telemetry.metadata.sessionId",
            "traceloop.association.properties.session_id",
        ],
    )
    def test_each_configured_key_names_the_session(self, key: str) -> None:
        trace_id = turn("conv-1", 0, key=key)
        assert Trace.objects.get(trace_id=trace_id).session_id == "conv-1"

    def test_resource_attribute_and_later_batch(self) -> None:
        trace_id, root = new_trace_id(), new_span_id()
        ingest_request(export_request([SpanSpec(trace_id, root, "root")]))
        assert Trace.objects.get(trace_id=trace_id).session_id == ""

        child = SpanSpec(trace_id, new_span_id(), "child", root, NOW_NS + 5)
        ingest_request(export_request([child], resource={"langfuse.session.id": "from-resource"}))
        assert Trace.objects.get(trace_id=trace_id).session_id == "from-resource"

        # Once set, a later batch naming another conversation does not move the trace.
        other = SpanSpec(trace_id, new_span_id(), "other", root, NOW_NS + 9, attributes={"session.id": "other"})
        ingest_request(export_request([other]))
        assert Trace.objects.get(trace_id=trace_id).session_id == "from-resource"

    def test_earliest_span_of_a_batch_wins(self) -> None:
        trace_id, root = new_trace_id(), new_span_id()
        late = SpanSpec(trace_id, new_span_id(), "late", root, NOW_NS + 50, attributes={"session.id": "late"})
        early = SpanSpec(trace_id, root, "root", start_ns=NOW_NS, attributes={"gen_ai.conversation.id": "early"})
        ingest_request(export_request([late, early]))
        assert Trace.objects.get(trace_id=trace_id).session_id == "early"


@pytest.mark.django_db
class TestSessionList:
    def test_aggregates_per_session(self, api: Client) -> None:
        turn("conv-a", 0, duration_ms=100, tokens=10)
        turn("conv-a", 10, duration_ms=200, tokens=20, error=True)
        turn("conv-b", 5, tokens=7)
        turn("", 7)  # no session: not listed

        items = api.get("/api/sessions").json()["items"]
        assert [item["session_id"] for item in items] == ["conv-a", "conv-b"]
        first = items[0]
        assert first["turns"] == 2
        assert first["duration_ms"] == 10_200.0
        assert first["total_tokens"] == 30
        assert first["error_turns"] == 1
        assert first["error_count"] == 1
        assert first["span_count"] == 4

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"sort": "most_turns"}, ["three", "two", "one"]),
            ({"sort": "oldest"}, ["one", "two", "three"]),
            ({"sort": "newest"}, ["three", "two", "one"]),
            ({"sort": "most_tokens"}, ["two", "three", "one"]),
            ({"sort": "longest"}, ["three", "two", "one"]),
            ({"sort": "most_errors"}, ["two", "three", "one"]),
            ({"model": "CLAUDE"}, ["two"]),
            ({"has_errors": "true", "sort": "oldest"}, ["two"]),
            ({"min_turns": "2"}, ["three"]),
            ({"q": "THREE"}, ["three"]),
        ],
    )
    def test_filters_and_sorts(self, api: Client, params: dict, expected: list[str]) -> None:
        turn("one", 0, tokens=1)
        turn("two", 10, tokens=500, model="claude-sonnet-4", error=True, duration_ms=900)
        turn("three", 20)
        turn("three", 31)
        turn("three", 32)
        items = api.get("/api/sessions", params).json()["items"]
        assert [item["session_id"] for item in items] == expected

    @pytest.mark.parametrize("sort", ["newest", "most_turns", "most_expensive"])
    def test_cursor_visits_every_session_once(self, api: Client, sort: str) -> None:
        for i in range(13):
            for t in range(i % 3 + 1):
                turn(f"s{i:02d}", i * 10 + t)
        seen: list[str] = []
        cursor = None
        for _ in range(10):
            page = api.get("/api/sessions", {"limit": "4", "sort": sort, **({"cursor": cursor} if cursor else {})})
            seen += [item["session_id"] for item in page.json()["items"]]
            cursor = page.json()["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == [f"s{i:02d}" for i in range(13)]

    @pytest.mark.parametrize(
        ("params", "parameter"),
        [({"sort": "slowest"}, "sort"), ({"min_turns": "0"}, "min_turns"), ({"cursor": "x"}, "cursor")],
    )
    def test_bad_parameters(self, api: Client, params: dict, parameter: str) -> None:
        response = api.get("/api/sessions", params)
        assert response.status_code == 400
        assert response.json()["parameter"] == parameter

    def test_query_count_does_not_grow_with_sessions(self, api: Client) -> None:
        def queries() -> int:
            with CaptureQueriesContext(connection) as captured:
                assert api.get("/api/sessions", {"model": "gpt", "limit": "100"}).status_code == 200
            return len(captured)

        turn("first", 0)
        one = queries()
        for i in range(20):
            turn(f"more-{i}", i)
        assert queries() == one


@pytest.mark.django_db
class TestSessionDetail:
    def test_turns_in_order_with_root_payload_refs(self, api: Client) -> None:
        later = turn("conv", 30)
        earlier = turn("conv", 0)
        ingest_request(export_request(agent_trace()))

        body = api.get("/api/sessions/conv").json()
        assert body["session"]["turns"] == 2
        assert [t["trace_id"] for t in body["turns"]] == [earlier, later]
        assert body["turns"][0]["session_id"] == "conv"
        refs = body["turns"][0]["root_payload_refs"]
        assert [ref["role"] for ref in refs] == ["input"]
        assert body["truncated"] is False

    def test_engineer_reads_the_turns_content_and_viewer_does_not(self, client: Client, viewer, engineer) -> None:
        turn("conv", 3)
        client.force_login(engineer)
        ref = client.get("/api/sessions/conv").json()["turns"][0]["root_payload_refs"][0]["ref"]
        assert client.get(f"/api/payloads/{ref}").json()["content"] == "question 3"
        client.force_login(viewer)
        assert client.get(f"/api/payloads/{ref}").status_code == 403

    def test_unknown_session_is_404(self, api: Client) -> None:
        assert api.get("/api/sessions/nope").status_code == 404

    def test_query_count_does_not_grow_with_turns(self, api: Client) -> None:
        def queries(session: str) -> int:
            with CaptureQueriesContext(connection) as captured:
                assert api.get(f"/api/sessions/{session}").status_code == 200
            return len(captured)

        turn("short", 0)
        for i in range(15):
            turn("long", i)
        assert queries("long") == queries("short")

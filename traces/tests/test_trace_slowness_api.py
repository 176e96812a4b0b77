"""`GET /api/traces/{id}` answers the critical path, every span's self time and what the path's time went to."""

import pytest
from django.test import Client

from testing.factories import NOW_NS, SpanSpec, export_request, new_span_id, new_trace_id
from traces.ingest import ingest_request

MS = 1_000_000


@pytest.mark.django_db
def test_trace_detail_names_the_critical_path_and_its_top_contributors(client: Client, viewer) -> None:
    trace_id = new_trace_id()
    root, plan, fast, slow, orphan = (new_span_id() for _ in range(5))
    spans = [
        SpanSpec(
            trace_id,
            root,
            "invoke_agent a",
            duration_ns=1000 * MS,
            attributes={"gen_ai.operation.name": "invoke_agent"},
        ),
        SpanSpec(
            trace_id,
            plan,
            "chat gpt-4o",
            root,
            NOW_NS,
            400 * MS,
            attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"},
            events=[("tracefoundry.retry", {"tracefoundry.retry.delay_s": 0.1})],
        ),
        SpanSpec(
            trace_id,
            fast,
            "execute_tool calculator",
            root,
            NOW_NS + 400 * MS,
            100 * MS,
            attributes={"gen_ai.tool.name": "calculator", "gen_ai.operation.name": "execute_tool"},
        ),
        SpanSpec(
            trace_id,
            slow,
            "execute_tool search",
            root,
            NOW_NS + 400 * MS,
            500 * MS,
            attributes={"gen_ai.tool.name": "search", "gen_ai.operation.name": "execute_tool"},
        ),
        SpanSpec(trace_id, orphan, "late orphan", "f" * 16, NOW_NS + 1100 * MS, 100 * MS),
    ]
    ingest_request(export_request(spans))
    client.force_login(viewer)

    path = client.get(f"/api/traces/{trace_id}").json()["critical_path"]

    assert path["span_ids"] == [plan, slow, root, orphan]
    assert [(s["span_id"], s["start_offset_ms"], s["end_offset_ms"]) for s in path["segments"]] == [
        (plan, 0.0, 400.0),
        (slow, 400.0, 900.0),
        (root, 900.0, 1000.0),
        (orphan, 1100.0, 1200.0),
    ]
    assert path["segments_truncated"] is False
    assert path["self_time_ms"] == {root: 100.0, plan: 400.0, fast: 100.0, slow: 500.0, orphan: 100.0}
    assert [(c["span_id"], c["critical_ms"], c["share"]) for c in path["top_contributors"][:2]] == [
        (slow, 500.0, 0.4167),
        (plan, 400.0, 0.3333),
    ]
    assert (path["path_ms"], path["llm_ms"], path["tool_ms"], path["own_ms"], path["untracked_ms"]) == (
        1200.0,
        400.0,
        500.0,
        200.0,
        100.0,
    )
    # The retry event is at the span's start (the factory puts event i at start + i ns), then 100 ms of backoff.
    assert (path["retry_ms"], path["backoff_ms"]) == (100.0, 100.0)


@pytest.mark.django_db
def test_spans_carry_retry_timeout_and_exception_marks_at_their_offsets(client: Client, viewer) -> None:
    trace_id, span_id = new_trace_id(), new_span_id()
    events = [
        ("tracefoundry.retry", {"tracefoundry.retry.reason": "HTTP 429: rate limit exceeded"}),
        ("log", {}),
        ("tracefoundry.timeout", {"tracefoundry.timeout.reason": "no answer"}),
        ("exception", {"exception.type": "TimeoutError"}),
    ]
    ingest_request(export_request([SpanSpec(trace_id, span_id, "call", events=events)]))
    client.force_login(viewer)

    marks = client.get(f"/api/traces/{trace_id}/spans").json()["items"][0]["marks"]

    assert marks == [
        {"kind": "retry", "offset_ms": 0.0, "reason": "HTTP 429: rate limit exceeded"},
        {"kind": "timeout", "offset_ms": 0.0, "reason": "no answer"},
        {"kind": "exception", "offset_ms": 0.0, "reason": "TimeoutError"},
    ]


@pytest.mark.django_db
def test_in_trace_search_finds_attribute_values_and_event_attributes(client: Client, viewer) -> None:
    trace_id, root, by_attribute, by_event = new_trace_id(), new_span_id(), new_span_id(), new_span_id()
    ingest_request(
        export_request(
            [
                SpanSpec(trace_id, root, "invoke_agent"),
                SpanSpec(
                    trace_id, by_attribute, "lookup", root, NOW_NS + 1, attributes={"db.statement": "SELECT Orders"}
                ),
                SpanSpec(
                    trace_id, by_event, "search", root, NOW_NS + 2, events=[("retry", {"why": "Rate limit exceeded"})]
                ),
            ]
        )
    )
    client.force_login(viewer)

    def search(text: str) -> list[str]:
        return client.get(f"/api/traces/{trace_id}/search", {"q": text}).json()["span_ids"]

    assert search("select orders") == [by_attribute]
    assert search("RATE LIMIT") == [by_event]
    assert search("invoke") == [root]
    assert search("nowhere") == []
    assert client.get(f"/api/traces/{trace_id}/search").status_code == 400
    assert client.get(f"/api/traces/{'e' * 32}/search", {"q": "x"}).status_code == 404


@pytest.mark.django_db
def test_the_first_screen_asks_for_the_detail_without_the_critical_path(client: Client, viewer) -> None:
    trace_id = new_trace_id()
    ingest_request(export_request([SpanSpec(trace_id, new_span_id(), "invoke_agent a", duration_ns=1000 * MS)]))
    client.force_login(viewer)

    full = client.get(f"/api/traces/{trace_id}")
    light = client.get(f"/api/traces/{trace_id}?critical_path=false")

    assert full.json()["critical_path"]["span_ids"]
    assert light.json()["critical_path"] is None
    assert {k: v for k, v in light.json().items() if k != "critical_path"} == {
        k: v for k, v in full.json().items() if k != "critical_path"
    }
    assert client.get(f"/api/traces/{trace_id}?critical_path=maybe").status_code == 400

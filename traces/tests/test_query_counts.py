"""Exact query counts of the read endpoints the explorer calls most: the trace list, the trace detail, the span
tree and the comparison of two runs. Two of every count are the signed-in user's session and user rows; one is
the role check."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from testing.factories import SpanSpec, agent_trace, export_request, new_span_id
from traces.ingest import ingest_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client: Client, viewer: User) -> Client:
    client.force_login(viewer)
    return client


def _stored_trace(extra_steps: int = 0) -> str:
    spans = agent_trace()
    spans += [SpanSpec(spans[0].trace_id, new_span_id(), f"step {i}", spans[0].span_id) for i in range(extra_steps)]
    spans[1].attributes["gen_ai.input.messages"] = '[{"role": "user", "content": "plan a trip"}]'
    ingest_request(export_request(spans))
    return spans[0].trace_id


@pytest.mark.parametrize("traces", [1, 20])
def test_trace_list(api: Client, django_assert_num_queries: Any, traces: int) -> None:
    for _ in range(traces):
        _stored_trace()

    # session, user, permissions, the total count (capped), the page of traces
    with django_assert_num_queries(5):
        assert api.get("/api/traces", {"limit": "100"}).status_code == 200


@pytest.mark.parametrize("traces", [2, 20])
def test_next_pages_of_the_trace_list_are_not_counted(api: Client, django_assert_num_queries: Any, traces: int) -> None:
    for _ in range(traces):
        _stored_trace()
    cursor = api.get("/api/traces", {"limit": "1"}).json()["next_cursor"]

    # session, user, permissions, the page of traces
    with django_assert_num_queries(4):
        assert api.get("/api/traces", {"limit": "1", "cursor": cursor}).status_code == 200


@pytest.mark.parametrize("sessions", [1, 20])
def test_session_list(api: Client, django_assert_num_queries: Any, sessions: int) -> None:
    for i in range(sessions):
        spans = agent_trace()
        spans[0].attributes["session.id"] = f"conversation-{i % 7}"
        ingest_request(export_request(spans))

    # session, user, permissions, the sessions (grouped traces)
    with django_assert_num_queries(4):
        assert api.get("/api/sessions", {"model": "gpt", "sort": "most_turns"}).status_code == 200


@pytest.mark.parametrize("turns", [1, 15])
def test_session_detail(api: Client, django_assert_num_queries: Any, turns: int) -> None:
    for _ in range(turns):
        spans = agent_trace()
        spans[0].attributes.update({"session.id": "conversation", "input.value": "hello"})
        ingest_request(export_request(spans))

    # session, user, permissions, the session's summary, its turns, their root spans, their payload refs
    with django_assert_num_queries(7):
        assert api.get("/api/sessions/conversation").status_code == 200


@pytest.mark.parametrize("extra_steps", [0, 40])
def test_trace_detail(api: Client, django_assert_num_queries: Any, extra_steps: int) -> None:
    trace_id = _stored_trace(extra_steps)

    # session, user, permissions, trace (with its per-service counts), root span, models, the critical path's spans
    # and the events of those that retried, the previous run
    with django_assert_num_queries(9):
        assert api.get(f"/api/traces/{trace_id}").status_code == 200


@pytest.mark.parametrize("extra_steps", [0, 40])
def test_span_tree_reads_the_trace_row_once(api: Client, django_assert_num_queries: Any, extra_steps: int) -> None:
    trace_id = _stored_trace(extra_steps)

    # session, user, permissions, trace, its spans (a trace that fits on the page is read whole, in one query),
    # payload refs of the page's spans
    with django_assert_num_queries(6) as captured:
        assert api.get(f"/api/traces/{trace_id}/spans").status_code == 200

    assert len([q for q in captured.captured_queries if 'FROM "traces"' in q["sql"]]) == 1


def _stored_run(steps: int) -> str:
    spans = agent_trace()
    spans += [
        SpanSpec(
            spans[0].trace_id,
            new_span_id(),
            "chat gpt-4o",
            spans[0].span_id,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.input.messages": f'[{{"role": "user", "content": "step {i}"}}]',
            },
        )
        for i in range(steps)
    ]
    ingest_request(export_request(spans))
    return spans[0].trace_id


@pytest.mark.parametrize("steps", [1, 40])
def test_compare_with_payload_diffs(client: Client, engineer: User, django_assert_num_queries: Any, steps: int) -> None:
    a, b = _stored_run(steps), _stored_run(steps)
    client.force_login(engineer)

    # session, user, permissions, both traces, both runs' steps, the matched steps' payload refs, their blobs
    with django_assert_num_queries(9):
        assert client.get("/api/traces/compare", {"a": a, "b": b}).status_code == 200

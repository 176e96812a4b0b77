"""`GET /api/traces/compare`: two agent runs aligned by their steps, deltas, divergence, payload diffs by role."""

import json

import pytest
from django.test import Client

from testing.factories import NOW_NS, SpanSpec, export_request, new_span_id, new_trace_id
from traces.ingest import ingest_request

MS = 1_000_000


def llm(trace_id: str, parent: str, at_ms: int, ms: int, prompt: str, tokens: int = 100, **kw) -> SpanSpec:
    return SpanSpec(
        trace_id,
        new_span_id(),
        "chat gpt-4o",
        parent,
        NOW_NS + at_ms * MS,
        ms * MS,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": tokens,
            "gen_ai.usage.output_tokens": 10,
            "gen_ai.input.messages": json.dumps(
                [{"role": "system", "content": "You plan."}, {"role": "user", "content": prompt}]
            ),
        },
        **kw,
    )


def tool(trace_id: str, parent: str, at_ms: int, ms: int, name: str = "search", **kw) -> SpanSpec:
    return SpanSpec(
        trace_id,
        new_span_id(),
        f"execute_tool {name}",
        parent,
        NOW_NS + at_ms * MS,
        ms * MS,
        attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name},
        **kw,
    )


def run(
    prompt: str = "Where is order 1042?",
    tool_name: str = "search",
    insert_tool: bool = False,
    fail_last: bool = False,
    tool_ms: int = 200,
    answer_tokens: int = 300,
    start_s: int = 0,
) -> str:
    """An agent run: plan (LLM), a tool call, [another tool call], answer (LLM)."""
    trace_id, root = new_trace_id(), new_span_id()
    spans = [
        SpanSpec(
            trace_id,
            root,
            "invoke_agent support",
            duration_ns=1000 * MS,
            attributes={"gen_ai.operation.name": "invoke_agent"},
        ),
        llm(trace_id, root, 0, 100, prompt),
        tool(trace_id, root, 100, tool_ms, tool_name),
    ]
    if insert_tool:
        spans.append(
            tool(
                trace_id,
                root,
                350,
                50,
                "calculator",
                events=[("tracefoundry.retry", {"tracefoundry.retry.delay_s": 0.01})],
            )
        )
    spans.append(
        llm(
            trace_id,
            root,
            500,
            300,
            "Answer the user.",
            tokens=answer_tokens,
            status_code=2 if fail_last else 0,
            status_message="HTTP 500" if fail_last else "",
        )
    )
    for spec in spans:
        spec.start_ns += start_s * 1_000_000_000
    ingest_request(export_request(spans, service="support-bot"))
    return trace_id


@pytest.fixture
def as_viewer(client: Client, viewer) -> Client:
    client.force_login(viewer)
    return client


@pytest.fixture
def as_engineer(client: Client, engineer) -> Client:
    client.force_login(engineer)
    return client


def compare(api: Client, a: str, b: str) -> dict:
    response = api.get("/api/traces/compare", {"a": a, "b": b})
    assert response.status_code == 200, response.content
    return response.json()


def shape(answer: dict) -> list[tuple[str, str]]:
    return [(row["kind"], (row["a"] or row["b"])["name"]) for row in answer["rows"]]


@pytest.mark.django_db
class TestCompare:
    def test_identical_runs_match_step_for_step(self, as_viewer: Client) -> None:
        answer = compare(as_viewer, run(), run())

        assert shape(answer) == [
            ("matched", "chat gpt-4o"),
            ("matched", "execute_tool search"),
            ("matched", "chat gpt-4o"),
        ]
        assert answer["divergence"] is None
        assert {row["delta"]["duration_ms"] for row in answer["rows"]} == {0.0}
        assert answer["summary"]["matched"] == 3
        assert answer["summary"]["delta"]["steps"] == 0
        assert answer["summary"]["delta"]["cost_usd"] == "0.0000000000"

    def test_an_inserted_step_is_only_in_b_and_the_rest_still_aligns(self, as_viewer: Client) -> None:
        answer = compare(as_viewer, run(), run(insert_tool=True))

        assert shape(answer) == [
            ("matched", "chat gpt-4o"),
            ("matched", "execute_tool search"),
            ("only_b", "execute_tool calculator"),
            ("matched", "chat gpt-4o"),
        ]
        assert answer["divergence"] == {"row": 2, "reason": "only_in_b"}
        assert answer["summary"]["only_b"] == 1
        assert answer["summary"]["delta"]["steps"] == 1
        assert answer["summary"]["delta"]["tool_calls"] == 1
        assert answer["summary"]["delta"]["retries"] == 1
        assert answer["rows"][2]["b"]["retry_count"] == 1
        assert answer["rows"][2]["b"]["offset_ms"] == 350.0

    def test_a_changed_tool_is_a_replaced_step(self, as_viewer: Client) -> None:
        answer = compare(as_viewer, run(), run(tool_name="database_lookup"))

        assert shape(answer) == [
            ("matched", "chat gpt-4o"),
            ("only_a", "execute_tool search"),
            ("only_b", "execute_tool database_lookup"),
            ("matched", "chat gpt-4o"),
        ]
        assert answer["divergence"] == {"row": 1, "reason": "replaced"}
        assert answer["rows"][1]["a"]["target"] == "search"

    def test_a_failed_step_is_a_status_change_with_deltas(self, as_viewer: Client) -> None:
        answer = compare(as_viewer, run(tool_ms=200), run(fail_last=True, tool_ms=350))

        assert answer["divergence"] == {"row": 2, "reason": "status_changed"}
        last = answer["rows"][2]
        assert (last["a"]["status_code"], last["b"]["status_code"]) == ("unset", "error")
        assert last["delta"]["status_changed"] is True
        assert answer["rows"][1]["delta"]["duration_ms"] == 150.0
        assert answer["summary"]["a"]["failed_steps"] == 0
        assert answer["summary"]["delta"]["failed_steps"] == 1

    def test_token_and_cost_deltas(self, as_viewer: Client) -> None:
        a, b = run(), run(answer_tokens=500)
        answer = compare(as_viewer, a, b)

        assert answer["rows"][0]["delta"]["total_tokens"] == 0
        assert answer["rows"][2]["delta"]["input_tokens"] == 200
        assert (answer["summary"]["a"]["total_tokens"], answer["summary"]["b"]["total_tokens"]) == (420, 620)
        assert answer["summary"]["delta"]["total_tokens"] == 200
        assert float(answer["rows"][2]["delta"]["cost_usd"]) > 0
        assert answer["a"]["trace_id"] == a
        assert answer["b"]["trace_id"] == b

    def test_viewers_get_structure_and_numbers_but_no_payload_text(self, as_viewer: Client) -> None:
        response = as_viewer.get("/api/traces/compare", {"a": run("secret-plan-ALPHA"), "b": run("secret-plan-BRAVO")})

        assert response.status_code == 200
        assert b"secret-plan" not in response.content
        assert b"You plan." not in response.content
        answer = response.json()
        assert answer["payload_diffs_included"] is False
        assert all("payload_diffs" not in row for row in answer["rows"])

    def test_engineers_get_a_diff_per_message(self, as_engineer: Client) -> None:
        answer = compare(as_engineer, run("secret-plan-ALPHA"), run("secret-plan-BRAVO"))

        assert answer["payload_diffs_included"] is True
        first = answer["rows"][0]["payload_diffs"]
        assert [(d["role"], d["kind"], d["changed"]) for d in first] == [("input_messages", "messages", True)]
        system, user = first[0]["messages"]
        assert (system["role_a"], system["changed"], system["lines"]) == ("system", False, [])
        assert user["changed"] is True
        assert "-secret-plan-ALPHA" in user["lines"]
        assert "+secret-plan-BRAVO" in user["lines"]
        last = answer["rows"][2]["payload_diffs"]
        assert [(d["role"], d["kind"], d["changed"]) for d in last] == [("input_messages", "identical", False)]

    def test_unknown_trace_is_404_and_a_bad_id_400_naming_it(self, as_viewer: Client) -> None:
        known = run()

        missing = as_viewer.get("/api/traces/compare", {"a": known, "b": "f" * 32})
        bad = as_viewer.get("/api/traces/compare", {"a": known, "b": "nope"})
        absent = as_viewer.get("/api/traces/compare", {"a": known})

        assert missing.status_code == 404
        assert (bad.status_code, bad.json()["parameter"]) == (400, "b")
        assert (absent.status_code, absent.json()["parameter"]) == (400, "b")


@pytest.mark.django_db
def test_trace_detail_names_the_previous_run_of_the_same_agent(as_viewer: Client) -> None:
    first, second = run(start_s=-60), run()
    other_agent = new_trace_id()
    ingest_request(export_request([SpanSpec(other_agent, new_span_id(), "invoke_agent other")], service="support-bot"))

    assert as_viewer.get(f"/api/traces/{second}").json()["previous_run_id"] == first
    assert as_viewer.get(f"/api/traces/{first}").json()["previous_run_id"] is None
    assert as_viewer.get(f"/api/traces/{other_agent}").json()["previous_run_id"] is None

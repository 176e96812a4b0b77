"""`manage.py demo_load` against a live server: every scenario stored, idempotent by seed, no planted secret
stored."""

import io
import json
import re

import pytest
from django.core.management import call_command
from tracefoundry.demo import SCENARIOS, run_agent, structure_from_spans
from tracefoundry.demo.load import SERVICE_NAME, run_seeds

from accounts.models import IngestKey
from payloads.models import PayloadBlob, SpanPayloadRef
from payloads.queries import payload_content
from payloads.refs import public_value
from traces.models import Span, Trace, TraceStatus


def stored_structures() -> dict[str, list[str]]:
    spans: dict[str, list[dict[str, object]]] = {}
    for span in Span.objects.filter(service=SERVICE_NAME).values(
        "trace_id", "span_id", "parent_span_id", "name", "status_code", "start_unix_nano"
    ):
        spans.setdefault(str(span["trace_id"]), []).append(
            {**span, "status_code": "error" if span["status_code"] == 2 else "ok"}
        )
    return {trace_id: structure_from_spans(items) for trace_id, items in spans.items()}


def trace_rows() -> list[tuple[object, ...]]:
    return list(
        Trace.objects.filter(service=SERVICE_NAME)
        .order_by("trace_id")
        .values_list(
            "trace_id",
            "span_count",
            "error_count",
            "retry_count",
            "timeout_count",
            "total_tokens",
            "cost_usd",
            "status",
        )
    )


def load(url: str) -> str:
    out = io.StringIO()
    call_command("demo_load", "--traces", "50", "--seed", "7", "--url", url, stdout=out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_demo_load_stores_every_scenario_once_and_no_planted_secret(live_server, capsys) -> None:
    output = load(live_server.url)

    assert "Sent 50 traces (seed 7)" in output
    assert f"Explorer: {live_server.url}/?service={SERVICE_NAME}" in output
    assert "0 refused or lost" in output
    assert "[" + "#" * 30 + "] 50/50 traces" in capsys.readouterr().err
    assert not IngestKey.objects.filter(name__startswith="demo-load").exists()  # deleted, not only revoked
    stored = re.search(r"  payloads: (\d+) of (\d+) named by the spans stored, 0 missing", output)
    assert stored is not None
    assert stored.group(1) == stored.group(2) != "0"
    assert "dropped" not in output

    traces = Trace.objects.filter(service=SERVICE_NAME, environment="demo")
    assert traces.count() == 50
    roots = Span.objects.filter(service=SERVICE_NAME, parent_span_id="")
    scenario_of = {root.trace_id: root.attributes["tracefoundry.demo.scenario"] for root in roots}
    assert set(scenario_of.values()) == set(SCENARIOS)
    by_scenario: dict[str, list[Trace]] = {}
    for trace in traces:
        by_scenario.setdefault(scenario_of[trace.trace_id], []).append(trace)
    assert all(t.retry_count >= 3 for t in by_scenario["retry_storm"])
    assert all(t.timeout_count == 1 and t.status == TraceStatus.ERROR for t in by_scenario["timeout"])
    assert all(t.status == TraceStatus.ERROR for t in by_scenario["llm_error"])
    assert all(t.duration_ns > 8 * 10**9 for t in by_scenario["slow_tool"])
    assert all((t.status, t.retry_count, t.timeout_count) == (TraceStatus.OK, 0, 0) for t in by_scenario["happy"])
    assert all(t.llm_call_count >= 2 and t.tool_call_count >= 1 and t.cost_usd > 0 for t in traces)

    # The same runs made again here (spans go nowhere) give the stored trace ids and structures.
    recordings = [run_agent(scenario, seed) for scenario, seed in run_seeds(50, "7", "mix")]
    structures = stored_structures()
    assert {r.trace_id: r.structure() for r in recordings} == structures

    # Every payload ref on a span resolves to a stored blob whose bytes hash to it.
    ref_values = {
        value
        for attributes in Span.objects.filter(service=SERVICE_NAME).values_list("attributes", flat=True)
        for key, value in attributes.items()
        if key.startswith("tracefoundry.payload.") and key.endswith("_ref")
    }
    assert len(ref_values) > 100
    assert {public_value(sha) for sha in PayloadBlob.objects.values_list("sha256", flat=True)} >= ref_values
    assert SpanPayloadRef.objects.filter(span__service=SERVICE_NAME).count() >= len(ref_values)

    # No planted secret anywhere: spans, trace summaries, payload contents.
    secrets = [secret for r in recordings for secret in r.planted_secrets]
    personal = [value for r in recordings for value in r.planted_personal]
    assert len(secrets) >= 10
    stored_text = json.dumps(
        [
            list(Span.objects.values_list("name", "status_message", "attributes", "events", "resource_attributes")),
            list(Trace.objects.values_list("search_text", "root_span_name")),
        ]
    )
    contents = [payload_content(sha).content for sha in PayloadBlob.objects.values_list("sha256", flat=True)]
    assert [s for s in secrets if s in stored_text or any(s in content for content in contents)] == []
    assert any("[REDACTED:" in content for content in contents)
    # Under `standard`, personal data is not masked: it is in payloads (engineers may read them), not spans.
    assert any(value in content for value in personal for content in contents)
    assert [value for value in personal if value in stored_text] == []

    # The same seed again stores nothing new.
    before = (trace_rows(), Span.objects.count(), PayloadBlob.objects.count(), SpanPayloadRef.objects.count())
    load(live_server.url)
    after = (trace_rows(), Span.objects.count(), PayloadBlob.objects.count(), SpanPayloadRef.objects.count())
    assert after == before
    assert stored_structures() == structures

"""The Python SDK against a live server: spans, payload refs and hashes; it redacts as the server does."""

import hashlib
import random

import pytest
import requests
import tracefoundry
from tracefoundry.demo.prompts import pick_question
from tracefoundry.redaction import build_redactor

from conftest import PASSWORD
from payloads.contracts import RedactionMode
from payloads.redaction import Redactor, configured_policy
from payloads.refs import public_value
from traces.models import Span

PROMPT = "Why does the deploy fail? key sk-proj-" + "Zx9" * 10 + ", mail ops@example.com, card 4242 4242 4242 4242"


def corpus() -> list[str]:
    questions = [pick_question(random.Random(n)).text for n in range(200)]  # test data
    return [
        *questions,
        PROMPT,
        "Authorization: Basic dXNlcjpwYXNzd29yZA==",
        "password: 'hunter2hunter2'",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
        "ssn 123-45-6789",
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl",
        "(415) 555-0134",
    ]


@pytest.mark.parametrize("mode", ["off", "standard", "strict"])
def test_the_sdk_redacts_exactly_as_the_server(mode: str) -> None:
    server = Redactor(configured_policy(), RedactionMode(mode))
    sdk = build_redactor(mode)
    texts = corpus()
    assert [sdk.redact(text)[0] for text in texts] == [server.text(text) for text in texts]
    assert sum(sdk.redact(text)[1] for text in texts) > (0 if mode != "off" else -1)


@pytest.mark.django_db(transaction=True)
def test_sdk_spans_and_payloads_reach_a_live_server(live_server, ingest_key, engineer) -> None:
    tracefoundry.configure(
        service_name="sdk-live", environment="ci", url=live_server.url, ingest_key=ingest_key, environ={}
    )
    with tracefoundry.trace_agent_run("helper", input=PROMPT) as run:
        with tracefoundry.llm_call(
            "gpt-4o-mini", provider="openai", messages=[{"role": "user", "content": PROMPT}]
        ) as call:
            call.record_retry(2, 0.5, "HTTP 429")
            call.set_response("Check the key.", input_tokens=1000, output_tokens=100, finish_reason="stop")
        with pytest.raises(TimeoutError), tracefoundry.tool_call("lookup", arguments={"id": 7}):
            raise TimeoutError("lookup took longer than 5 s")
        run.record_output("Check the key.")
    tracefoundry.shutdown()
    assert tracefoundry.payload_stats() == tracefoundry.UploadStats()  # shut down: nothing left behind

    api = requests.Session()
    api.auth = (engineer.username, PASSWORD)
    [summary] = api.get(f"{live_server.url}/api/traces", params={"service": "sdk-live"}, timeout=10).json()["items"]
    assert summary["trace_id"] == run.trace_id
    assert (summary["environment"], summary["status"], summary["span_count"]) == ("ci", "error", 3)
    assert (summary["llm_call_count"], summary["tool_call_count"]) == (1, 1)
    assert (summary["retry_count"], summary["timeout_count"]) == (1, 1)
    # The root's roll-up uses tracefoundry.rollup.*, so the server counts the LLM tokens once.
    assert (summary["input_tokens"], summary["output_tokens"], summary["total_tokens"]) == (1000, 100, 1100)

    spans = api.get(f"{live_server.url}/api/traces/{run.trace_id}/spans", timeout=10).json()["items"]
    assert [(s["name"], s["depth"], s["category"], s["status_code"]) for s in spans] == [
        ("invoke_agent helper", 0, "agent", "unset"),
        ("chat gpt-4o-mini", 1, "llm", "unset"),
        ("execute_tool lookup", 1, "tool", "error"),
    ]
    assert spans[2]["is_timeout"] is True
    redacted = build_redactor("standard").redact(PROMPT)[0]
    assert "[REDACTED:openai_api_key]" in redacted
    assert "[REDACTED:card_number]" in redacted
    expected_ref = "sha256:" + hashlib.sha256(redacted.encode()).hexdigest()
    linked = {
        (span.name, ref.role, f"sha256:{ref.blob_id}")
        for span in Span.objects.filter(trace_id=run.trace_id).prefetch_related("payload_refs")
        for ref in span.payload_refs.all()
    }
    assert ("invoke_agent helper", "input", expected_ref) in linked
    assert {(name, role) for name, role, _ in linked} == {
        ("invoke_agent helper", "input"),
        ("invoke_agent helper", "output"),
        ("chat gpt-4o-mini", "input"),
        ("chat gpt-4o-mini", "output"),
        ("execute_tool lookup", "tool_args"),
    }

    root = api.get(
        f"{live_server.url}/api/spans/{spans[0]['span_id']}", params={"trace_id": run.trace_id}, timeout=10
    ).json()
    assert root["attributes"]["tracefoundry.payload.input_ref"] == public_value(expected_ref.removeprefix("sha256:"))
    assert root["attributes"]["tracefoundry.rollup.total_tokens"] == 1100
    assert PROMPT not in str(root["attributes"])
    for _, _, ref in linked:
        payload = api.get(f"{live_server.url}/api/payloads/{ref}", timeout=10).json()
        assert "sha256:" + hashlib.sha256(payload["content"].encode()).hexdigest() == ref
        assert "sk-proj-" not in payload["content"]
    content = api.get(f"{live_server.url}/api/payloads/{expected_ref}", timeout=10).json()["content"]
    assert content == redacted

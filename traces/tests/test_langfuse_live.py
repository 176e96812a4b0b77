"""The real Langfuse Python SDK, pointed at TraceFoundry by host and keys only, against a live server: its
trace arrives with its observations at `/api/public/otel/v1/traces` (HTTP Basic, the secret key an ingest key)."""

import pytest
import requests
from langfuse import Langfuse
from opentelemetry.sdk.trace import TracerProvider

from traces.models import Span, Trace

PROMPT = "prompt-langfuse where is order 1042?"


@pytest.mark.django_db(transaction=True)
def test_the_langfuse_sdk_switches_by_host_and_keys(live_server, ingest_key: str, monkeypatch) -> None:
    monkeypatch.setenv("LANGFUSE_HOST", live_server.url)
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", "pk-lf-anything")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", ingest_key)
    # A provider of the test's own: left to itself the SDK installs the process-wide one, which outlives its
    # shutdown() and would send later tests' spans to this test's server at interpreter exit.
    provider = TracerProvider()
    langfuse = Langfuse(tracer_provider=provider)

    with langfuse.start_as_current_observation(name="support-agent", as_type="span", input=PROMPT) as agent:
        with langfuse.start_as_current_observation(
            name="chat", as_type="generation", model="gpt-4o-mini", input=[{"role": "user", "content": PROMPT}]
        ) as generation:
            generation.update(output="It ships tomorrow.", usage_details={"input": 12, "output": 5})
        agent.update(output="It ships tomorrow.")
    langfuse.flush()
    langfuse.shutdown()
    provider.shutdown()

    [trace] = Trace.objects.all()
    assert (trace.root_span_name, trace.span_count) == ("support-agent", 2)
    chat = Span.objects.get(trace_id=trace.trace_id, name="chat")
    assert chat.parent_span_id == trace.root_span_id
    assert chat.attributes["langfuse.observation.type"] == "generation"
    assert chat.attributes["langfuse.observation.model.name"] == "gpt-4o-mini"


@pytest.mark.django_db(transaction=True)
def test_basic_auth_needs_an_ingest_key_as_password(live_server, ingest_key: str) -> None:
    url = f"{live_server.url}/api/public/otel/v1/traces"
    headers = {"Content-Type": "application/x-protobuf"}

    wrong = requests.post(url, data=b"", headers=headers, auth=("pk-lf-anything", "sk-lf-not-a-key"), timeout=10)
    bearer = requests.post(url, data=b"", headers={**headers, "Authorization": f"Bearer {ingest_key}"}, timeout=10)
    basic = requests.post(url, data=b"", headers=headers, auth=("pk-lf-anything", ingest_key), timeout=10)
    plain_otlp = requests.post(
        f"{live_server.url}/otlp/v1/traces", data=b"", headers=headers, auth=("pk-lf-anything", ingest_key), timeout=10
    )

    assert wrong.status_code == 401
    assert "ingest key as password" in wrong.content.decode(errors="replace")
    assert (bearer.status_code, basic.status_code) == (200, 200)
    assert plain_otlp.status_code == 401  # HTTP Basic opens the Langfuse-compatible door only

"""The official OpenTelemetry Python SDK exports (protobuf, gzip, bearer key) to a live server."""

import pytest
import requests
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from conftest import PASSWORD


@pytest.mark.django_db(transaction=True)
def test_opentelemetry_sdk_export_is_browsable_through_the_api(live_server, ingest_key, viewer) -> None:
    exporter = OTLPSpanExporter(
        endpoint=f"{live_server.url}/otlp/v1/traces",
        headers={"Authorization": f"Bearer {ingest_key}"},
        compression=Compression.Gzip,
    )
    provider = TracerProvider(
        resource=Resource.create({"service.name": "weather-agent", "deployment.environment.name": "staging"})
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("sdk-test")

    with tracer.start_as_current_span("invoke_agent weather", attributes={"gen_ai.operation.name": "invoke_agent"}):
        with tracer.start_as_current_span("chat gpt-4o-mini") as llm:
            llm.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.usage.input_tokens": 2000,
                    "gen_ai.usage.output_tokens": 500,
                }
            )
        with tracer.start_as_current_span("execute_tool get_weather") as tool:
            tool.set_attribute("gen_ai.operation.name", "execute_tool")
            tool.set_attribute("gen_ai.tool.name", "get_weather")
            tool.set_status(Status(StatusCode.ERROR, "city not found"))
    provider.shutdown()

    api = requests.Session()
    api.auth = (viewer.username, PASSWORD)
    listing = api.get(f"{live_server.url}/api/traces", params={"service": "weather-agent"}, timeout=10).json()
    assert len(listing["items"]) == 1
    summary = listing["items"][0]
    assert summary["root_span_name"] == "invoke_agent weather"
    assert (summary["status"], summary["span_count"], summary["error_count"]) == ("error", 3, 1)
    assert (summary["input_tokens"], summary["output_tokens"], summary["total_tokens"]) == (2000, 500, 2500)
    # gpt-4o-mini: 2000 x 0.15 + 500 x 0.60 per million tokens.
    assert summary["cost_usd"] == "0.0006000000"
    assert (summary["models"], summary["tools"], summary["environment"]) == (
        ["gpt-4o-mini"],
        ["get_weather"],
        "staging",
    )

    spans = api.get(f"{live_server.url}/api/traces/{summary['trace_id']}/spans", timeout=10).json()["items"]
    assert [(s["name"], s["depth"], s["category"]) for s in spans] == [
        ("invoke_agent weather", 0, "agent"),
        ("chat gpt-4o-mini", 1, "llm"),
        ("execute_tool get_weather", 1, "tool"),
    ]
    assert spans[2]["status_code"] == "error"

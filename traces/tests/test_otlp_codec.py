"""Decode → encode → decode is identity on real exporter requests: spans recorded by the official
OpenTelemetry SDK and serialised by the OTLP exporter's own encoder (what `OTLPSpanExporter` sends)."""

import json

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from payloads.contracts import OtlpSpan
from traces import otlp

EVERY_VALUE_TYPE: dict[str, AttributeValue] = {
    "text": "plain",
    "text.unicode": "naïve — 東京",
    "flag": True,
    "count": 42,
    "big": 2**62,
    "negative": -7,
    "ratio": 0.25,
    "texts": ["a", "b"],
    "flags": [True, False],
    "counts": [1, 2, 3],
    "ratios": [1.5, -2.0],
}


def _exporter_request(scenario: str) -> bytes:
    """The protobuf body the OTLP/HTTP exporter would send for one small agent run."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": f"agent-{scenario}", "deployment.environment.name": "test", **EVERY_VALUE_TYPE},
            schema_url="https://opentelemetry.io/schemas/1.30.0",
        )
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer(
        "tests.codec", "1.2.3", schema_url="https://example.com/scope", attributes={"scope.attr": scenario}
    )
    other_tracer = provider.get_tracer("tests.other-scope")
    with tracer.start_as_current_span(
        "invoke_agent planner", kind=SpanKind.SERVER, attributes=EVERY_VALUE_TYPE
    ) as root:
        root.add_event("gen_ai.user.message", {"content": "hi", "index": 0, "scores": [0.5]})
        with tracer.start_as_current_span(
            "chat gpt-4o",
            kind=SpanKind.CLIENT,
            links=[Link(root.get_span_context(), {"link.reason": "retry", "attempt": 2})],
            attributes={"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 12},
        ) as chat:
            chat.add_event("exception", {"exception.type": "TimeoutError", "exception.escaped": False})
            chat.set_status(Status(StatusCode.ERROR, f"{scenario}: upstream timed out"))
        with other_tracer.start_as_current_span("execute_tool search", attributes={"gen_ai.tool.name": "search"}):
            pass
        root.set_status(Status(StatusCode.OK))
    provider.shutdown()
    return encode_spans(memory.get_finished_spans()).SerializeToString()


def _spans(request: object) -> list[OtlpSpan]:
    decoded = [span for span in otlp.iter_spans(request) if isinstance(span, OtlpSpan)]  # type: ignore[arg-type]
    return sorted(decoded, key=lambda span: span.span_id)


@pytest.mark.parametrize("scenario", ["happy", "retry", "tool-error"])
def test_decode_encode_decode_is_identity_on_exporter_requests(scenario: str) -> None:
    first = _spans(otlp.decode_protobuf(_exporter_request(scenario)))

    again = _spans(otlp.decode_json(json.dumps(otlp.encode_spans_json(first)).encode()))

    assert len(first) == 3
    assert again == first


def test_the_exporter_request_carries_what_the_round_trip_checks() -> None:
    spans = {span.name: span for span in _spans(otlp.decode_protobuf(_exporter_request("happy")))}
    root, chat, tool = spans["invoke_agent planner"], spans["chat gpt-4o"], spans["execute_tool search"]

    assert root.attributes == EVERY_VALUE_TYPE
    assert root.resource_attributes["big"] == 2**62
    assert root.otlp_extra["resource_schema_url"] == "https://opentelemetry.io/schemas/1.30.0"
    assert root.scope == {
        "name": "tests.codec",
        "version": "1.2.3",
        "attributes": {"scope.attr": "happy"},
        "dropped_attributes_count": 0,
        "schema_url": "https://example.com/scope",
    }
    assert root.events[0]["attributes"] == {"content": "hi", "index": 0, "scores": [0.5]}
    assert chat.links[0]["span_id"] == root.span_id
    assert chat.links[0]["attributes"] == {"link.reason": "retry", "attempt": 2}
    assert (chat.status_code, chat.status_message) == (2, "happy: upstream timed out")
    assert (chat.parent_span_id, tool.parent_span_id) == (root.span_id, root.span_id)
    assert tool.scope["name"] == "tests.other-scope"

"""A trace carrying planted fake secrets and personal data in every field, as OTLP protobuf or OTLP/JSON."""

import base64
import json
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

# name -> (text planted, a distinctive part searched for in dumps). All fake, made for these tests.
CREDENTIALS = {
    "openai_api_key": ("sk-proj-T3stOnlyFakeKey0123456789abcdefXYZ", "T3stOnlyFakeKey0123456789"),
    "anthropic_api_key": ("sk-ant-api03-FakeTestKey_0123456789abcdefghij-XYZ", "FakeTestKey_0123456789"),
    "aws_access_key_id": ("AKIAZZFAKETEST123456", "AKIAZZFAKETEST123456"),
    "github_token": ("ghp_FakeTestToken0123456789abcdefghijKLMN", "FakeTestToken0123456789"),
    "private_key_block": (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpQIBAAKCAQEAfakeTESTkeyMaterialONLYforScanning0123\n"
        "AbCdEfGhIjKlMnOpQrStUvWxYz==\n-----END RSA PRIVATE KEY-----",
        "fakeTESTkeyMaterialONLYforScanning",
    ),
    "jwt": (
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0LXVzZXItNDIifQ.fakeSignatureForTests0123",
        "eyJzdWIiOiJ0ZXN0LXVzZXItNDIifQ",
    ),
    "url_password": ("https://deploy:Hunter2-FakePass@git.example.com/repo.git", "Hunter2-FakePass"),
    "bearer_token": (
        "Authorization: Bearer tf-fake-bearer-0123456789abcdef",
        "tf-fake-bearer-0123456789abcdef",
    ),
    "card_number": ("4111 1111 1111 1111", "4111 1111 1111 1111"),
}
PERSONAL = {
    "email": ("jane.roe.fake@example.org", "jane.roe.fake@example.org"),
    "phone_number": ("+1 415 555 0199", "415 555 0199"),
}
ALL_TEXT = "Context: " + " | ".join(text for text, _ in [*CREDENTIALS.values(), *PERSONAL.values()]) + " end."
CREDENTIAL_NEEDLES = [needle for _, needle in CREDENTIALS.values()]
PERSONAL_NEEDLES = [needle for _, needle in PERSONAL.values()]

TRACE_ID = "5b8efff798038103d269b633813fc60c"
LLM_SPAN_ID = "eee19b7ec3c1b174"
TOOL_SPAN_ID = "eee19b7ec3c1b175"


def _value(value: Any) -> AnyValue:
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, list):
        result = AnyValue()
        result.array_value.values.extend(_value(item) for item in value)
        return result
    result = AnyValue()
    result.kvlist_value.values.extend(KeyValue(key=k, value=_value(v)) for k, v in value.items())
    return result


def _attributes(target: Any, values: dict[str, Any]) -> None:
    target.extend(KeyValue(key=key, value=_value(value)) for key, value in values.items())


def planted_request() -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    _attributes(
        resource_spans.resource.attributes,
        {"service.name": "planted-agent", "service.instance.id": ALL_TEXT, "host.name": ALL_TEXT},
    )
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "planted"
    _attributes(scope_spans.scope.attributes, {"scope.note": ALL_TEXT})

    llm = scope_spans.spans.add()
    llm.trace_id, llm.span_id = bytes.fromhex(TRACE_ID), bytes.fromhex(LLM_SPAN_ID)
    llm.name = f"chat gpt-4o {CREDENTIALS['openai_api_key'][0]}"
    llm.kind = 3
    llm.start_time_unix_nano, llm.end_time_unix_nano = 1_700_000_000_000_000_000, 1_700_000_001_000_000_000
    llm.status.code = 2
    llm.status.message = f"provider error: {ALL_TEXT}"
    _attributes(
        llm.attributes,
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 120,
            "gen_ai.usage.output_tokens": 30,
            "app.note": ALL_TEXT,
            "app.nested": {"list": ["fine", ALL_TEXT], "inner": {"deep": ALL_TEXT}},
            "exception.message": ALL_TEXT,
            "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": ALL_TEXT}]}]),
            "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "ok"}]}]),
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.content": ALL_TEXT,
            "llm.input_messages.1.message.role": "assistant",
            "llm.input_messages.1.message.content": ALL_TEXT,
            "input.value": ALL_TEXT,
            "output.value": f"The answer. {ALL_TEXT}",
        },
    )
    user_event = llm.events.add()
    user_event.name, user_event.time_unix_nano = "gen_ai.user.message", 1_700_000_000_100_000_000
    _attributes(user_event.attributes, {"content": ALL_TEXT, "gen_ai.system": "openai"})
    exception_event = llm.events.add()
    exception_event.name, exception_event.time_unix_nano = "exception", 1_700_000_000_200_000_000
    _attributes(exception_event.attributes, {"exception.type": "ProviderError", "exception.message": ALL_TEXT})
    link = llm.links.add()
    link.trace_id, link.span_id = (
        bytes.fromhex("0af7651916cd43dd8448eb211c80319c"),
        bytes.fromhex("b7ad6b7169203331"),
    )
    _attributes(link.attributes, {"link.note": ALL_TEXT})

    tool = scope_spans.spans.add()
    tool.trace_id, tool.span_id, tool.parent_span_id = (
        bytes.fromhex(TRACE_ID),
        bytes.fromhex(TOOL_SPAN_ID),
        bytes.fromhex(LLM_SPAN_ID),
    )
    tool.name = "execute_tool lookup"
    tool.start_time_unix_nano, tool.end_time_unix_nano = 1_700_000_000_300_000_000, 1_700_000_000_400_000_000
    _attributes(
        tool.attributes,
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "lookup",
            "tool.parameters": json.dumps({"query": ALL_TEXT}),
            "tracefoundry.payload.tool_result": ALL_TEXT,
        },
    )

    rejected = scope_spans.spans.add()  # all-zero span id: rejected, and its reason is logged
    rejected.trace_id, rejected.span_id = bytes.fromhex(TRACE_ID), bytes(8)
    rejected.name = ALL_TEXT
    rejected.start_time_unix_nano, rejected.end_time_unix_nano = 1, 2
    _attributes(rejected.attributes, {"app.note": ALL_TEXT})
    return request


def planted_body(encoding: str) -> tuple[bytes, str]:
    request = planted_request()
    if encoding == "protobuf":
        return request.SerializeToString(), "application/x-protobuf"
    document = json_format.MessageToDict(request)
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for item in [span, *span.get("links", [])]:
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if key in item:
                            item[key] = base64.b64decode(item[key]).hex()
    return json.dumps(document).encode(), "application/json"

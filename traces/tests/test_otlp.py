"""`traces.otlp` decoding: OTLP/JSON read as leniently as the Collector reads it, protobuf, every attribute value
type, the reasons a span is rejected, and what the stored values cannot hold (NUL, non-finite doubles)."""

import json
from typing import Any

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from payloads.contracts import OtlpSpan, RejectedSpan
from testing.factories import SpanSpec, export_request
from traces import otlp

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


def _json_body(span: dict[str, Any], **resource_spans: Any) -> bytes:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}], **resource_spans}]}).encode()


def _one(body: bytes) -> OtlpSpan | RejectedSpan:
    [item] = list(otlp.iter_spans(otlp.decode_json(body)))
    return item


def test_otlp_json_with_camel_case_hex_ids_and_string_integers() -> None:
    span = _one(
        _json_body(
            {
                "traceId": TRACE,
                "spanId": SPAN,
                "name": "chat",
                "kind": 3,
                "startTimeUnixNano": "1767225600123456789",
                "endTimeUnixNano": "1767225600223456789",
                "attributes": [{"key": "n", "value": {"intValue": "9007199254740993"}}],
                "status": {"code": 2, "message": "boom"},
            }
        )
    )

    assert isinstance(span, OtlpSpan)
    assert (span.trace_id, span.span_id, span.kind) == (TRACE, SPAN, 3)
    assert span.start_unix_nano == 1_767_225_600_123_456_789
    assert span.attributes == {"n": 9_007_199_254_740_993}
    assert (span.status_code, span.status_message) == (2, "boom")


def test_snake_case_keys_and_enum_names_are_read_like_the_collector_reads_them() -> None:
    span = _one(
        _json_body(
            {
                "trace_id": TRACE,
                "span_id": SPAN,
                "name": "tool",
                "kind": "SPAN_KIND_CLIENT",
                "start_time_unix_nano": 10,
                "end_time_unix_nano": 20,
                "status": {"code": "STATUS_CODE_ERROR"},
            }
        )
    )

    assert isinstance(span, OtlpSpan)
    assert (span.span_id, span.kind, span.status_code, span.end_unix_nano) == (SPAN, 3, 2, 20)


@pytest.mark.parametrize(
    ("value", "decoded"),
    [
        ({"stringValue": "text"}, "text"),
        ({"boolValue": True}, True),
        ({"intValue": "-4"}, -4),
        ({"doubleValue": 0.5}, 0.5),
        ({"doubleValue": "NaN"}, "NaN"),
        ({"doubleValue": "Infinity"}, "Infinity"),
        ({"doubleValue": "-Infinity"}, "-Infinity"),
        ({"bytesValue": "aGk="}, "aGk="),
        ({"arrayValue": {"values": [{"intValue": "1"}, {"stringValue": "a"}]}}, [1, "a"]),
        ({"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": False}}]}}, {"k": False}),
        ({}, None),
        ({"stringValue": "nul\u0000here"}, "nul\ufffdhere"),
    ],
)
def test_every_attribute_value_type(value: dict[str, Any], decoded: Any) -> None:
    span = _one(
        _json_body(
            {
                "traceId": TRACE,
                "spanId": SPAN,
                "name": "s",
                "startTimeUnixNano": "1",
                "endTimeUnixNano": "2",
                "attributes": [{"key": "v", "value": value}],
            }
        )
    )

    assert isinstance(span, OtlpSpan)
    assert span.attributes == {"v": decoded}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"traceId": "00" * 16}, "invalid trace id (must be 16 bytes, not all zero)"),
        ({"traceId": "abc"}, "invalid trace id (must be 16 bytes, not all zero)"),
        ({"spanId": "00" * 8}, "invalid span id (must be 8 bytes, not all zero)"),
        ({"parentSpanId": "0102"}, "invalid parent span id (must be 8 bytes)"),
        ({"startTimeUnixNano": "0"}, "missing start time"),
        ({"endTimeUnixNano": "1"}, "end time before start time"),
        ({"startTimeUnixNano": str(2**63), "endTimeUnixNano": str(2**63)}, "timestamp out of range"),
    ],
)
def test_a_span_that_cannot_be_stored_is_rejected_with_the_reason(changes: dict[str, str], reason: str) -> None:
    span = {"traceId": TRACE, "spanId": SPAN, "name": "s", "startTimeUnixNano": "5", "endTimeUnixNano": "6"}

    rejected = _one(_json_body({**span, **changes}))

    assert isinstance(rejected, RejectedSpan)
    assert rejected.reason == reason


def test_protobuf_keeps_resource_scope_and_what_differs_from_defaults() -> None:
    request = export_request([SpanSpec(TRACE, SPAN, "n" * 2000, attributes={"k": "v"})], service="svc")
    request.resource_spans[0].schema_url = "https://opentelemetry.io/schemas/1.30.0"
    request.resource_spans[0].scope_spans[0].spans[0].dropped_events_count = 2

    [span] = list(otlp.iter_spans(otlp.decode_protobuf(request.SerializeToString())))

    assert isinstance(span, OtlpSpan)
    assert span.resource_attributes["service.name"] == "svc"
    assert span.name == "n" * 1024
    assert span.otlp_extra == {
        "resource_schema_url": "https://opentelemetry.io/schemas/1.30.0",
        "dropped_events_count": 2,
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "body is not valid JSON"),
        (b"[1, 2]", "body must be a JSON object with resourceSpans"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"kind": {}}]}]}]}', "not a valid OTLP/JSON"),
        (b"\xff\xfe", "body is not valid JSON"),
    ],
)
def test_undecodable_json_names_the_problem(body: bytes, message: str) -> None:
    with pytest.raises(otlp.OtlpDecodeError, match=message):
        otlp.decode_json(body)


def test_undecodable_protobuf_names_the_problem() -> None:
    with pytest.raises(otlp.OtlpDecodeError, match="not a valid protobuf ExportTraceServiceRequest"):
        otlp.decode_protobuf(b"\x0a\xff\xff\xff\xff\x0f")


def test_an_empty_body_is_an_empty_request() -> None:
    assert list(otlp.iter_spans(otlp.decode_json(b""))) == []
    assert list(otlp.iter_spans(otlp.decode_protobuf(b""))) == []


def test_any_value_of_a_non_finite_double_is_kept_as_text() -> None:
    assert otlp.any_value_to_python(AnyValue(double_value=float("-inf"))) == "-Infinity"

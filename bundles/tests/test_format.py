"""The OTLP/JSON encoding of spans and the manifest: exact, deterministic, decodable again."""

import json

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bundles import format as bundle_format
from bundles.tests.factories import otlp_spans
from payloads.contracts import OtlpSpan
from testing.factories import SpanSpec, export_request, pb_span
from traces import otlp

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
ROOT = "00f067aa0ba902b7"
CHILD = "b7ad6b7169203331"
# Past 2**53: a float would round it, so this shows the nanoseconds survive exactly.
START = 1_767_225_600_123_456_789


def _rich_request() -> ExportTraceServiceRequest:
    request = export_request(
        [
            SpanSpec(
                TRACE,
                ROOT,
                "invoke_agent planner",
                start_ns=START,
                duration_ns=5_000_000_001,
                attributes={"b.int": 7, "a.list": [1.5, "two", True], "c.map": {"z": 1, "y": {"x": "deep"}}},
                events=[("tracefoundry.retry", {"attempt": 2})],
                status_code=2,
                status_message="boom",
                kind=2,
            ),
            SpanSpec(TRACE, CHILD, "chat gpt-4o", parent_span_id=ROOT, start_ns=START + 1, duration_ns=999),
        ],
        service="svc-a",
    )
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.trace_state = "vendor=1"
    span.flags = 0x301
    span.dropped_attributes_count = 3
    span.dropped_events_count = 4
    span.dropped_links_count = 5
    link = span.links.add(
        trace_id=bytes.fromhex("a" * 32),
        span_id=bytes.fromhex("b" * 16),
        trace_state="k=v",
        flags=1,
        dropped_attributes_count=6,
    )
    link.attributes.extend(span.attributes[:1])
    request.resource_spans[0].schema_url = "https://opentelemetry.io/schemas/1.30.0"
    request.resource_spans[0].resource.dropped_attributes_count = 2
    request.resource_spans[0].scope_spans[0].schema_url = "https://example.com/scope"
    other = request.resource_spans.add()
    other.resource.attributes.extend(request.resource_spans[0].resource.attributes[:0])
    scope_spans = other.scope_spans.add()
    scope_spans.scope.name = "other-scope"
    scope_spans.spans.append(pb_span(SpanSpec(TRACE, "c" * 16, "execute_tool search", ROOT, START + 10, 10)))
    return request


def _spans(request: ExportTraceServiceRequest) -> list[OtlpSpan]:
    return [span for span in otlp.iter_spans(request) if isinstance(span, OtlpSpan)]


def test_encoding_decodes_back_to_the_same_spans() -> None:
    spans = _spans(_rich_request())

    decoded = _spans(otlp.decode_json(bundle_format.spans_json_bytes(spans)))

    assert sorted(decoded, key=lambda s: s.span_id) == sorted(spans, key=lambda s: s.span_id)


def test_encoding_follows_otlp_json_rules() -> None:
    document = otlp.encode_spans_json(_spans(_rich_request()))

    resource = document["resourceSpans"][0]
    span = resource["scopeSpans"][0]["spans"][0]
    assert span["traceId"] == TRACE
    assert span["spanId"] == ROOT
    assert span["parentSpanId"] == ""
    assert span["startTimeUnixNano"] == str(START)
    assert span["endTimeUnixNano"] == str(START + 5_000_000_001)
    assert span["kind"] == 2
    assert span["status"] == {"message": "boom", "code": 2}
    assert span["flags"] == 0x301
    assert span["traceState"] == "vendor=1"
    assert (span["droppedAttributesCount"], span["droppedEventsCount"], span["droppedLinksCount"]) == (
        3,
        4,
        5,
    )
    assert span["events"][0]["timeUnixNano"] == str(START)
    assert span["links"][0]["traceId"] == "a" * 32
    assert span["links"][0]["droppedAttributesCount"] == 6
    assert [kv["key"] for kv in span["attributes"]] == ["a.list", "b.int", "c.map"]
    assert span["attributes"][1]["value"] == {"intValue": "7"}
    assert resource["schemaUrl"] == "https://opentelemetry.io/schemas/1.30.0"
    assert resource["resource"]["droppedAttributesCount"] == 2
    assert resource["scopeSpans"][0]["schemaUrl"] == "https://example.com/scope"


def test_spans_are_grouped_by_resource_and_scope() -> None:
    document = otlp.encode_spans_json(_spans(_rich_request()))

    groups = [
        (
            len(resource["resource"]["attributes"]),
            scope["scope"]["name"],
            [s["spanId"] for s in scope["spans"]],
        )
        for resource in document["resourceSpans"]
        for scope in resource["scopeSpans"]
    ]
    assert groups == [(2, "tests", [ROOT, CHILD]), (0, "other-scope", ["c" * 16])]


def test_protobuf_parses_the_encoding_after_id_conversion() -> None:
    # The OpenTelemetry Collector's OTLP/JSON reader is protobuf's JSON mapping with hex ids: same check here.
    request = otlp.decode_json(bundle_format.spans_json_bytes(_spans(_rich_request())))

    assert json_format.MessageToDict(request)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"] == (
        "invoke_agent planner"
    )


def test_encoding_is_independent_of_key_order() -> None:
    spans = otlp_spans([SpanSpec(TRACE, ROOT, "root", attributes={"b": {"y": 1, "x": 2}, "a": 1})])
    reordered = [
        OtlpSpan(**{**{f: getattr(s, f) for f in s.__slots__}, "attributes": {"a": 1, "b": {"x": 2, "y": 1}}})
        for s in spans
    ]

    assert bundle_format.spans_json_bytes(spans) == bundle_format.spans_json_bytes(reordered)


def _manifest(**changes: object) -> bytes:
    manifest = bundle_format.Manifest(
        format_version=1,
        trace_id=TRACE,
        exported_at="2026-01-01T00:00:00.000000Z",
        tracefoundry_version="0.1.0",
        git_commit=None,
        environment={"python": "3.11.7"},
        redaction="standard",
        payloads_included=True,
        span_count=2,
        files=(bundle_format.file_entry("spans.otlp.json", b"{}", "application/json"),),
    )
    document = json.loads(bundle_format.manifest_bytes(manifest))
    document.update(changes)
    return json.dumps(document).encode()


def test_manifest_round_trips() -> None:
    manifest = bundle_format.parse_manifest(_manifest())

    assert manifest.trace_id == TRACE
    assert manifest.redaction == "standard"
    assert manifest.payloads_included
    assert manifest.entry("spans.otlp.json") == bundle_format.FileEntry(
        "spans.otlp.json", bundle_format.sha256_hex(b"{}"), 2, "application/json"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format_version": 2}, "unknown format_version 2"),
        ({"format_version": "1"}, "unknown format_version '1'"),
        ({"format": "zip"}, "format must be"),
        ({"trace_id": "XYZ"}, "trace_id must be"),
        ({"redaction": "none"}, "redaction must be one of"),
        ({"payloads_included": "yes"}, "payloads_included must be"),
        ({"span_count": -1}, "span_count must be"),
        ({"files": {"spans.otlp.json": {"sha256": "abc", "size_bytes": 1}}}, "sha256 must be 64"),
        ({"files": []}, "files must be an object"),
    ],
)
def test_manifest_errors_name_the_problem(changes: dict[str, object], message: str) -> None:
    with pytest.raises(bundle_format.ManifestError, match=message):
        bundle_format.parse_manifest(_manifest(**changes))


def test_manifest_that_is_not_json_is_refused() -> None:
    with pytest.raises(bundle_format.ManifestError, match="not valid JSON"):
        bundle_format.parse_manifest(b"\x00garbage")

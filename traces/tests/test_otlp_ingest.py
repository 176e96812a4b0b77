"""OTLP/HTTP ingest through the real view: encodings, idempotency, ordering, partial success, errors."""

import gzip
import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import zstandard
from django.test import Client
from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from testing.factories import SpanSpec, agent_trace, export_request, new_span_id, new_trace_id
from traces.models import Span, Trace

URL = "/otlp/v1/traces"


def post(client: Client, body: bytes, headers: dict[str, str]):
    extra = {k: v for k, v in headers.items() if k != "Content-Type"}
    return client.post(URL, data=body, content_type=headers["Content-Type"], headers=extra)


def trace_state(trace_id: str) -> tuple:
    trace = Trace.objects.get(trace_id=trace_id)
    return (
        trace.span_count,
        trace.error_count,
        trace.llm_call_count,
        trace.tool_call_count,
        trace.retry_count,
        trace.timeout_count,
        trace.input_tokens,
        trace.output_tokens,
        trace.cost_usd,
        trace.root_span_name,
        trace.duration_ns,
        trace.status,
        trace.orphan_count,
    )


@pytest.mark.django_db
class TestProtobufIngest:
    def test_stores_spans_and_summary(self, client: Client, otlp_headers) -> None:
        spans = agent_trace()
        response = post(client, export_request(spans).SerializeToString(), otlp_headers())

        assert response.status_code == 200
        assert response["Content-Type"] == "application/x-protobuf"
        reply = ExportTraceServiceResponse.FromString(response.content)
        assert not reply.HasField("partial_success")
        trace = Trace.objects.get(trace_id=spans[0].trace_id)
        assert trace.root_span_name == "invoke_agent planner"
        assert (trace.span_count, trace.error_count, trace.llm_call_count, trace.tool_call_count) == (
            4,
            1,
            2,
            1,
        )
        assert (trace.retry_count, trace.timeout_count) == (1, 1)
        assert (trace.input_tokens, trace.output_tokens, trace.total_tokens) == (1010, 200, 1210)
        # gpt-4o: 1000 x 2.50 + 200 x 10.00 per million; claude-sonnet-4: 10 x 3.00 per million.
        assert trace.cost_usd == Decimal("0.00453")
        assert trace.models_used == ["claude-sonnet-4", "gpt-4o"]
        assert trace.tools_used == ["search"]
        assert (trace.service, trace.environment, trace.status) == ("agent-svc", "test", "error")
        assert trace.duration_ns == 900_000_000
        assert trace.start_unix_nano == spans[0].start_ns

    def test_keeps_nanosecond_times_and_otlp_fields(self, client: Client, otlp_headers) -> None:
        spec = SpanSpec(
            new_trace_id(),
            new_span_id(),
            "precise",
            start_ns=1_700_000_000_123_456_789,
            duration_ns=987_654_321,
            attributes={"n": 1, "f": 1.5, "b": True, "l": ["a", 2]},
        )
        post(client, export_request([spec]).SerializeToString(), otlp_headers())

        span = Span.objects.get(span_id=spec.span_id)
        assert (span.start_unix_nano, span.end_unix_nano) == (
            1_700_000_000_123_456_789,
            1_700_000_001_111_111_110,
        )
        assert span.attributes == {"n": 1, "f": 1.5, "b": True, "l": ["a", 2]}
        assert span.scope["name"] == "tests"
        assert span.kind == 1

    def test_gzip_and_zstd_bodies(self, client: Client, otlp_headers) -> None:
        first, second = agent_trace(), agent_trace()
        gz = gzip.compress(export_request(first).SerializeToString())
        zs = zstandard.ZstdCompressor().compress(export_request(second).SerializeToString())

        assert post(client, gz, otlp_headers(**{"Content-Encoding": "gzip"})).status_code == 200
        assert post(client, zs, otlp_headers(**{"Content-Encoding": "zstd"})).status_code == 200
        assert Span.objects.filter(trace_id__in=[first[0].trace_id, second[0].trace_id]).count() == 8

    def test_resent_batch_changes_nothing(self, client: Client, otlp_headers) -> None:
        spans = agent_trace()
        body = export_request(spans).SerializeToString()
        post(client, body, otlp_headers())
        before = trace_state(spans[0].trace_id)

        assert post(client, body, otlp_headers()).status_code == 200
        assert trace_state(spans[0].trace_id) == before
        assert Span.objects.filter(trace_id=spans[0].trace_id).count() == 4

    def test_trace_split_across_batches_in_reverse_order(self, client: Client, otlp_headers) -> None:
        spans = agent_trace()
        for spec in reversed(spans):
            assert post(client, export_request([spec]).SerializeToString(), otlp_headers()).status_code == 200

        trace = Trace.objects.get(trace_id=spans[0].trace_id)
        assert (trace.root_span_name, trace.span_count, trace.orphan_count) == ("invoke_agent planner", 4, 0)
        assert (trace.input_tokens, trace.retry_count, trace.error_count) == (1010, 1, 1)

    def test_child_before_parent_is_an_orphan_until_the_parent_arrives(self, client: Client, otlp_headers) -> None:
        spans = agent_trace()
        post(client, export_request(spans[1:2]).SerializeToString(), otlp_headers())
        trace = Trace.objects.get(trace_id=spans[0].trace_id)
        assert (trace.orphan_count, trace.root_span_id, trace.root_span_name) == (1, "", spans[1].name)

        post(client, export_request(spans[:1]).SerializeToString(), otlp_headers())
        trace.refresh_from_db()
        assert (trace.orphan_count, trace.root_span_id) == (0, spans[0].span_id)

    def test_partial_success_counts_rejected_spans_and_stores_the_rest(self, client: Client, otlp_headers) -> None:
        good = agent_trace()
        trace_id = good[0].trace_id
        bad = [
            SpanSpec("0" * 32, new_span_id(), "zero trace id"),
            SpanSpec(trace_id, "0" * 16, "zero span id"),
            SpanSpec(trace_id, new_span_id(), "ends before it starts", duration_ns=-5),
        ]
        response = post(client, export_request(good + bad).SerializeToString(), otlp_headers())

        assert response.status_code == 200
        reply = ExportTraceServiceResponse.FromString(response.content)
        assert reply.partial_success.rejected_spans == 3
        assert "invalid trace id" in reply.partial_success.error_message
        assert "end time before start time" in reply.partial_success.error_message
        assert Span.objects.filter(trace_id=trace_id).count() == 4


def otlp_json(spans: list[SpanSpec]) -> dict:
    document = json_format.MessageToDict(export_request(spans))
    for resource_spans in document["resourceSpans"]:
        for span in resource_spans["scopeSpans"][0]["spans"]:
            for key in ("traceId", "spanId", "parentSpanId"):
                if key in span:
                    span[key] = json_format.base64.b64decode(span[key]).hex().upper()
    return document


@pytest.mark.django_db
class TestJsonIngest:
    def test_otlp_json_with_hex_ids_and_string_integers(self, client: Client, otlp_headers) -> None:
        spans = agent_trace()
        document = otlp_json(spans)
        span_json = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
        assert span_json["startTimeUnixNano"].isdigit()
        span_json["kind"] = "SPAN_KIND_SERVER"  # enum names are read leniently, like the Collector
        span_json["unknownField"] = {"ignored": True}
        response = post(client, json.dumps(document).encode(), otlp_headers("application/json"))

        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert response.json() == {}
        root = Span.objects.get(trace_id=spans[0].trace_id, span_id=spans[0].span_id)
        assert root.kind == 2
        assert Trace.objects.get(trace_id=spans[0].trace_id).span_count == 4

    def test_json_numbers_for_64_bit_integers_and_charset(self, client: Client, otlp_headers) -> None:
        spans = agent_trace()[:1]
        document = otlp_json(spans)
        span_json = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
        span_json["startTimeUnixNano"] = int(span_json["startTimeUnixNano"])
        response = post(client, json.dumps(document).encode(), otlp_headers("application/json; charset=utf-8"))

        assert response.status_code == 200
        assert Span.objects.get(span_id=spans[0].span_id).start_unix_nano == spans[0].start_ns

    def test_partial_success_in_json(self, client: Client, otlp_headers) -> None:
        spans = agent_trace()[:1]
        document = otlp_json(spans)
        document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"] = "not-hex"
        response = post(client, json.dumps(document).encode(), otlp_headers("application/json"))

        assert response.status_code == 200
        assert response.json()["partialSuccess"]["rejectedSpans"] == "1"

    def test_empty_request_succeeds(self, client: Client, otlp_headers) -> None:
        empty = export_request([]).SerializeToString()
        assert post(client, b"{}", otlp_headers("application/json")).status_code == 200
        assert post(client, empty + b"\n\x00", otlp_headers()).status_code == 200


@pytest.mark.django_db
class TestRefusals:
    def test_undecodable_protobuf(self, client: Client, otlp_headers) -> None:
        response = post(client, b"\xff\xff\xff not protobuf", otlp_headers())
        assert response.status_code == 400
        assert "protobuf" in Status.FromString(response.content).message

    def test_undecodable_json(self, client: Client, otlp_headers) -> None:
        response = post(client, b"{not json", otlp_headers("application/json"))
        assert response.status_code == 400
        assert "JSON" in response.json()["message"]

    def test_unknown_content_type(self, client: Client, otlp_headers) -> None:
        assert post(client, b"hello", otlp_headers("text/plain")).status_code == 415

    def test_unknown_content_encoding(self, client: Client, otlp_headers) -> None:
        response = post(client, b"x", otlp_headers(**{"Content-Encoding": "br"}))
        assert response.status_code == 415

    def test_corrupt_gzip(self, client: Client, otlp_headers) -> None:
        response = post(client, b"\x1f\x8b\x08garbage", otlp_headers(**{"Content-Encoding": "gzip"}))
        assert response.status_code == 400

    def test_body_over_limit(self, client: Client, otlp_headers, settings) -> None:
        settings.OTLP_MAX_BODY_BYTES = 1000
        body = export_request(agent_trace() * 5).SerializeToString()
        assert len(body) > 1000
        assert post(client, body, otlp_headers()).status_code == 413
        assert Span.objects.count() == 0

    @pytest.mark.parametrize("encoding", ["gzip", "zstd"])
    def test_decompression_bomb(self, client: Client, otlp_headers, settings, encoding: str) -> None:
        settings.OTLP_MAX_DECOMPRESSED_BYTES = 1024 * 1024
        inflated = b"\x00" * (200 * 1024 * 1024)
        bomb = gzip.compress(inflated, 9) if encoding == "gzip" else zstandard.ZstdCompressor(19).compress(inflated)
        assert len(bomb) < 1024 * 1024

        response = post(client, bomb, otlp_headers(**{"Content-Encoding": encoding}))
        assert response.status_code == 413
        assert "decompressed body" in Status.FromString(response.content).message

    def test_missing_and_unknown_ingest_keys(self, client: Client, otlp_headers) -> None:
        body = export_request(agent_trace()).SerializeToString()
        no_key = {"Content-Type": "application/x-protobuf"}
        wrong_key = {"Content-Type": "application/x-protobuf", "Authorization": "Bearer tfi_not-a-key"}

        assert post(client, body, no_key).status_code == 401
        assert post(client, body, wrong_key).status_code == 401
        assert Span.objects.count() == 0

    def test_only_post(self, client: Client, otlp_headers) -> None:
        response = client.get(URL, headers={"Authorization": otlp_headers()["Authorization"]})
        assert response.status_code == 405


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_of_one_trace_lose_no_counts(live_server, otlp_headers) -> None:
    import requests

    trace_id = new_trace_id()
    root = new_span_id()
    batches = [[SpanSpec(trace_id, root, "root", duration_ns=10_000_000_000)]]
    batches += [
        [
            SpanSpec(trace_id, new_span_id(), f"tool {b}-{i}", root, attributes={"gen_ai.tool.name": f"t{b}"})
            for i in range(20)
        ]
        for b in range(8)
    ]
    bodies = [export_request(batch).SerializeToString() for batch in batches]

    def send(body: bytes) -> int:
        return requests.post(live_server.url + URL, data=body, headers=otlp_headers(), timeout=30).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(send, bodies))

    assert statuses == [200] * len(bodies)
    trace = Trace.objects.get(trace_id=trace_id)
    assert (trace.span_count, trace.tool_call_count, trace.orphan_count) == (161, 160, 0)
    assert trace.tools_used == [f"t{b}" for b in range(8)]

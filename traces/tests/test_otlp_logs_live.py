"""`/otlp/v1/logs` live: the official OpenTelemetry OTLP/HTTP exporters (protobuf, gzip) against a
live server, and a chunked body through the web server (Granian), as deployed."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, LogRecordExportResult, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from payloads.models import SpanPayloadRef
from testing.factories import LogSpec, SpanSpec, export_request, logs_request, new_span_id, new_trace_id
from testing.servers import database_url, web_server
from traces.models import Span, SpanLogRecord, Trace

PROMPT = "prompt-http-logs where is order 1042?"


@pytest.mark.django_db(transaction=True)
def test_the_official_http_exporters_deliver_a_genai_record_before_its_span(live_server, ingest_key: str) -> None:
    spans, logs = InMemorySpanExporter(), InMemoryLogRecordExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    with tracer_provider.get_tracer("tests").start_as_current_span("chat gpt-4o-mini"):
        logger_provider.get_logger("tests").emit(
            event_name="gen_ai.user.message", body={"content": PROMPT}, attributes={"gen_ai.system": "openai"}
        )
    headers = {"Authorization": f"Bearer {ingest_key}"}
    log_exporter = OTLPLogExporter(
        endpoint=f"{live_server.url}/otlp/v1/logs", headers=headers, compression=Compression.Gzip
    )
    span_exporter = OTLPSpanExporter(endpoint=f"{live_server.url}/otlp/v1/traces", headers=headers)

    assert log_exporter.export(logs.get_finished_logs()) == LogRecordExportResult.SUCCESS
    assert span_exporter.export(spans.get_finished_spans()) == SpanExportResult.SUCCESS

    [span] = Span.objects.all()
    [event] = span.events
    assert (event["name"], event["attributes"]["gen_ai.system"]) == ("gen_ai.user.message", "openai")
    assert "body" not in event["attributes"]
    assert SpanPayloadRef.objects.get(span=span).role == "messages"


@pytest.fixture
def server(transactional_db: None) -> Iterator[str]:
    with web_server(database_url(connection.settings_dict)) as base_url:
        yield base_url


def test_a_chunked_body_through_the_web_server(server: str, otlp_headers) -> None:
    trace_id, span_id = new_trace_id(), new_span_id()
    body = logs_request(
        [LogSpec(trace_id, span_id, "gen_ai.user.message", body={"content": PROMPT * 20}), LogSpec("", "", body="x")]
    ).SerializeToString()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 300):
            yield body[start : start + 300]

    response = requests.post(server + "/otlp/v1/logs", data=chunks(), headers=otlp_headers(), timeout=30)

    assert response.status_code == 200
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert ExportLogsServiceResponse.FromString(response.content).partial_success.rejected_log_records == 1
    assert SpanLogRecord.objects.filter(trace_id=trace_id, attached_at__isnull=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_records_and_spans_sent_concurrently_are_each_attached_once(live_server, otlp_headers) -> None:
    trace_id = new_trace_id()
    span_ids = [new_span_id() for _ in range(40)]
    span_bodies = [
        export_request([SpanSpec(trace_id, span_id, f"chat {n}") for n, span_id in enumerate(span_ids[b::8])])
        for b in range(8)
    ]
    log_bodies = [
        logs_request(
            [
                LogSpec(trace_id, span_id, "gen_ai.user.message", body={"content": f"prompt {span_id}"})
                for span_id in span_ids[b::8]
            ]
        )
        for b in range(8)
    ]
    requests_to_send = [
        request
        for logs_body, spans_body in zip(log_bodies, span_bodies, strict=True)
        for request in (
            ("/otlp/v1/logs", logs_body.SerializeToString()),
            ("/otlp/v1/traces", spans_body.SerializeToString()),
        )
    ]

    def send(request: tuple[str, bytes]) -> int:
        path, body = request
        return requests.post(live_server.url + path, data=body, headers=otlp_headers(), timeout=60).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(send, requests_to_send * 2))  # every request twice: re-sent batches too

    assert statuses == [200] * 32
    assert Trace.objects.get(trace_id=trace_id).span_count == 40
    for span in Span.objects.filter(trace_id=trace_id):
        assert [event["name"] for event in span.events] == ["gen_ai.user.message"]
    assert SpanPayloadRef.objects.filter(span__trace_id=trace_id).count() == 40
    assert not SpanLogRecord.objects.filter(attached_at__isnull=True).exists()

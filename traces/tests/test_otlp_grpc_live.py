"""OTLP/gRPC against a live `manage.py serve_otlp_grpc` process: the official OpenTelemetry gRPC exporters store
spans and GenAI log records; a bad key is UNAUTHENTICATED, an oversized message RESOURCE_EXHAUSTED; a database
that is down UNAVAILABLE with retry info; what cannot be stored is in partial_success."""

import logging
from collections.abc import Iterator

import grpc
import pytest
from django.db import connection
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, LogRecordExportResult, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from payloads.models import SpanPayloadRef
from testing.factories import LogSpec, agent_trace, export_request, logs_request, new_span_id, new_trace_id
from testing.servers import database_url, free_port, grpc_server
from traces.models import Span, SpanLogRecord

PROMPT = "prompt-grpc where is order 1042?"
DETAILS = "gen_ai.client.inference.operation.details"


@pytest.fixture
def grpc_port(transactional_db: None) -> Iterator[int]:
    with grpc_server(database_url(connection.settings_dict)) as port:
        yield port


def recorded_run(attribute_bytes: int = 0) -> tuple[list[ReadableSpan], list]:
    """An LLM span and, inside it, the GenAI instrumentation's log record, as the OpenTelemetry SDK records them."""
    spans, logs = InMemorySpanExporter(), InMemoryLogRecordExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    with tracer_provider.get_tracer("tests").start_as_current_span(
        "chat gpt-4o-mini", attributes={"gen_ai.request.model": "gpt-4o-mini", "filler": "x" * attribute_bytes}
    ):
        logger_provider.get_logger("tests").emit(
            event_name=DETAILS,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.input.messages": [{"role": "user", "parts": [{"type": "text", "content": PROMPT}]}],
            },
        )
    return list(spans.get_finished_spans()), list(logs.get_finished_logs())


def exporters(port: int, key: str, timeout: float = 10) -> tuple[OTLPSpanExporter, OTLPLogExporter]:
    endpoint, headers = f"http://127.0.0.1:{port}", (("authorization", f"Bearer {key}"),)
    gzip = grpc.Compression.Gzip
    return (
        OTLPSpanExporter(endpoint=endpoint, insecure=True, headers=headers, compression=gzip, timeout=timeout),
        OTLPLogExporter(endpoint=endpoint, insecure=True, headers=headers, compression=gzip, timeout=timeout),
    )


def test_the_official_exporters_store_spans_and_genai_log_records(grpc_port: int, ingest_key: str) -> None:
    recorded_spans, recorded_logs = recorded_run()
    span_exporter, log_exporter = exporters(grpc_port, ingest_key)

    # The log record first: it waits for its span, then is attached when the span arrives.
    assert log_exporter.export(recorded_logs) == LogRecordExportResult.SUCCESS
    assert span_exporter.export(recorded_spans) == SpanExportResult.SUCCESS

    [span] = Span.objects.all()
    assert (span.name, span.model) == ("chat gpt-4o-mini", "gpt-4o-mini")
    [event] = span.events
    assert event["name"] == DETAILS
    assert PROMPT not in str(span.events)
    [ref] = SpanPayloadRef.objects.filter(span=span)
    assert ref.role == "messages"
    assert not SpanLogRecord.objects.filter(attached_at__isnull=True).exists()


def test_a_bad_key_is_unauthenticated(grpc_port: int, caplog: pytest.LogCaptureFixture) -> None:
    recorded_spans, recorded_logs = recorded_run()
    span_exporter, log_exporter = exporters(grpc_port, "not-a-key")

    with caplog.at_level(logging.ERROR):
        assert span_exporter.export(recorded_spans) == SpanExportResult.FAILURE
        assert log_exporter.export(recorded_logs) == LogRecordExportResult.FAILURE

    # The log exporter keeps its own failures out of logging (they could loop back into it): ask directly.
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel, pytest.raises(grpc.RpcError) as raised:
        LogsServiceStub(channel).Export(logs_request([]), metadata=(("authorization", "Bearer nope"),), timeout=10)

    assert "error code: StatusCode.UNAUTHENTICATED" in caplog.text
    assert "missing or unknown ingest key" in caplog.text
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert not Span.objects.exists()


def test_an_oversized_message_is_resource_exhausted(
    transactional_db: None, ingest_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    recorded_spans, _ = recorded_run(attribute_bytes=20_000)
    limits = {"OTLP_MAX_BODY_BYTES": "10000", "OTLP_MAX_SPANS_PER_REQUEST": "3"}
    metadata = (("authorization", f"Bearer {ingest_key}"),)
    with grpc_server(database_url(connection.settings_dict), limits) as port:
        span_exporter, _ = exporters(port, ingest_key, timeout=3)
        with caplog.at_level(logging.WARNING):
            # gzip shrinks the message far below the limit: gRPC checks its size once inflated.
            assert span_exporter.export(recorded_spans) == SpanExportResult.FAILURE
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            with pytest.raises(grpc.RpcError) as too_big:
                TraceServiceStub(channel).Export(export_request(agent_trace() * 50), metadata=metadata, timeout=10)
            with pytest.raises(grpc.RpcError) as too_many:
                TraceServiceStub(channel).Export(export_request(agent_trace()), metadata=metadata, timeout=10)

    assert "StatusCode.RESOURCE_EXHAUSTED" in caplog.text
    assert too_big.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert too_many.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "OTLP_MAX_SPANS_PER_REQUEST" in (too_many.value.details() or "")
    assert not Span.objects.exists()


def test_undecodable_bytes_are_invalid_argument_and_unplaceable_records_partial_success(
    grpc_port: int, ingest_key: str
) -> None:
    metadata = (("authorization", f"Bearer {ingest_key}"),)
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        raw_export: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
        )
        with pytest.raises(grpc.RpcError) as raised:
            raw_export(b"\xff\xfe not protobuf", metadata=metadata, timeout=10)
        reply: ExportLogsServiceResponse = LogsServiceStub(channel).Export(
            logs_request([LogSpec("", "", body="no span"), LogSpec(new_trace_id(), new_span_id(), body="waits")]),
            metadata=metadata,
            timeout=10,
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "ExportTraceServiceRequest" in (raised.value.details() or "")
    assert reply.partial_success.rejected_log_records == 1
    assert "no span context" in reply.partial_success.error_message
    assert SpanLogRecord.objects.filter(attached_at__isnull=True).count() == 1


def test_database_down_is_unavailable_with_retry_info(transactional_db: None) -> None:
    with (
        grpc_server(f"postgres://postgres@127.0.0.1:{free_port()}/nowhere") as port,
        grpc.insecure_channel(f"127.0.0.1:{port}") as channel,
        pytest.raises(grpc.RpcError) as raised,
    ):
        TraceServiceStub(channel).Export(
            export_request(agent_trace()), metadata=(("authorization", "Bearer any"),), timeout=30
        )

    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "database unavailable" in (raised.value.details() or "")
    trailing = {item.key: item.value for item in raised.value.trailing_metadata()}
    retry_info = RetryInfo.FromString(trailing["google.rpc.retryinfo-bin"])
    assert retry_info.retry_delay.seconds == 5

"""One OTLP export, whatever door it came through (OTLP/HTTP, OTLP/gRPC, the Langfuse-compatible endpoint):
decode the request, ingest it, and say how it went in OTLP's terms.

Transport-agnostic: the HTTP views (`traces.otlp_views`) and the gRPC server (`traces.otlp_grpc`) authenticate,
read and decompress, then call `export` and turn its answer or `ExportRefused` into their own status codes.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from traces import otlp, otlp_logs
from traces.ingest import ingest_request
from traces.log_ingest import ingest_logs

logger = logging.getLogger(__name__)

# Why an export was refused, in HTTP terms (each transport maps them to its own codes).
BAD_REQUEST, UNAUTHENTICATED, TOO_LARGE, UNAVAILABLE = 400, 401, 413, 503
UNKNOWN_KEY = "missing or unknown ingest key (Authorization: Bearer <key>)"


class ExportRefused(Exception):
    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


def database_unavailable() -> ExportRefused:
    return ExportRefused(UNAVAILABLE, "database unavailable, retry later", settings.OTLP_RETRY_AFTER_SECONDS)


@dataclass(frozen=True)
class Signal:
    name: str
    # Both take the body and the request limits (OTLP_MAX_SPANS_PER_REQUEST, OTLP_MAX_TRACES_PER_REQUEST).
    decode_protobuf: Callable[[bytes, otlp.RequestLimits], Any]
    decode_json: Callable[[bytes, otlp.RequestLimits], Any]
    # Ingests a decoded request; returns the reply (with partial_success when something was rejected).
    ingest: Callable[[Any], Message]


def _ingest_traces(request: Any) -> Message:
    result = ingest_request(request)
    reply = ExportTraceServiceResponse()
    if result.rejected_spans or result.error_message:
        reply.partial_success.rejected_spans = result.rejected_spans
        reply.partial_success.error_message = result.error_message
        logger.info("%s", result.error_message)
    return reply


def _ingest_logs(request: Any) -> Message:
    result = ingest_logs(request)
    reply = ExportLogsServiceResponse()
    if result.rejected_records or result.error_message:
        reply.partial_success.rejected_log_records = result.rejected_records
        reply.partial_success.error_message = result.error_message
        logger.info("%s", result.error_message)
    return reply


TRACES = Signal("traces", otlp.decode_protobuf, otlp.decode_json, _ingest_traces)
LOGS = Signal("logs", otlp_logs.decode_protobuf, otlp_logs.decode_json, _ingest_logs)


def export(signal: Signal, body: bytes, json: bool = False) -> Message:
    """Decode and ingest one request body (decompressed); the reply, or ExportRefused saying why not."""
    limits = otlp.RequestLimits(settings.OTLP_MAX_SPANS_PER_REQUEST, settings.OTLP_MAX_TRACES_PER_REQUEST)
    try:
        decoded = signal.decode_json(body, limits) if json else signal.decode_protobuf(body, limits)
    except otlp.RequestOverLimit as exc:
        raise ExportRefused(TOO_LARGE, str(exc)) from exc
    except otlp.OtlpDecodeError as exc:
        raise ExportRefused(BAD_REQUEST, str(exc)) from exc
    try:
        return signal.ingest(decoded)
    except (DataError, IntegrityError) as exc:
        # Validation keeps every value in its column's range, so this is a bug of ours: the details (which name
        # tables and columns) go to the log, not to the client.
        logger.exception("ingest batch refused by the database")
        raise ExportRefused(
            BAD_REQUEST, "batch refused: a value cannot be stored; nothing of the batch was written"
        ) from exc
    except DatabaseError as exc:
        logger.exception("database unavailable during ingest; nothing of the batch was written")
        raise database_unavailable() from exc

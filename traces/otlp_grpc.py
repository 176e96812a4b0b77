"""OTLP/gRPC: `TraceService/Export` and `LogsService/Export` (opentelemetry-proto's services), served by
`manage.py serve_otlp_grpc` on GRPC_HOST:GRPC_PORT (4317).

The same door as OTLP/HTTP behind a different frame: the `authorization` metadata carries the ingest key
(`Bearer <key>`), gRPC itself inflates gzip, and the message bytes go through the same decode and ingest
(`traces.otlp_export`). Answers map to gRPC status codes: a bad key is UNAUTHENTICATED, a body that cannot be
decoded or is refused by the database INVALID_ARGUMENT, a message over OTLP_MAX_BODY_BYTES RESOURCE_EXHAUSTED
(gRPC checks the size after decompression), a database that is down UNAVAILABLE with a `google.rpc.RetryInfo`
of OTLP_RETRY_AFTER_SECONDS (as trailing metadata `google.rpc.retryinfo-bin`, which the OpenTelemetry
exporters read, and in `grpc-status-details-bin`); rejected spans and records are in `partial_success`.

Each call runs on a worker thread with its own database connection, closed when stale as Django closes it
after a web request.
"""

import logging
from collections.abc import Callable
from concurrent import futures
from typing import Any, NoReturn

import grpc
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from google.protobuf.message import Message
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from accounts.ingest_keys import authenticate_ingest_key
from traces import otlp_export

logger = logging.getLogger(__name__)

TRACE_SERVICE = trace_service_pb2.DESCRIPTOR.services_by_name["TraceService"].full_name
LOGS_SERVICE = logs_service_pb2.DESCRIPTOR.services_by_name["LogsService"].full_name
_CODES = {
    otlp_export.BAD_REQUEST: grpc.StatusCode.INVALID_ARGUMENT,
    otlp_export.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    otlp_export.TOO_LARGE: grpc.StatusCode.RESOURCE_EXHAUSTED,
    otlp_export.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
}


def build_server(host: str, port: int, workers: int) -> tuple[grpc.Server, int]:
    """A server (not started) with both services; the port it bound (RuntimeError if it cannot bind)."""
    limit = settings.OTLP_MAX_BODY_BYTES
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="otlp-grpc"),
        options=[("grpc.max_receive_message_length", limit)],
    )
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(TRACE_SERVICE, {"Export": _export_handler(otlp_export.TRACES)}),
            grpc.method_handlers_generic_handler(LOGS_SERVICE, {"Export": _export_handler(otlp_export.LOGS)}),
        )
    )
    return server, server.add_insecure_port(f"{host}:{port}")


def _export_handler(signal: otlp_export.Signal) -> grpc.RpcMethodHandler:
    # No request deserializer: the handler gets the message's bytes, decoded by the path every door shares.
    return grpc.unary_unary_rpc_method_handler(
        _exporter(signal), request_deserializer=None, response_serializer=_serialize
    )


def _serialize(reply: Message) -> bytes:
    return reply.SerializeToString()


def _exporter(signal: otlp_export.Signal) -> Callable[[bytes, grpc.ServicerContext], Message]:
    def export(body: bytes, context: grpc.ServicerContext) -> Message:
        close_old_connections()
        try:
            return _export(signal, body, context)
        finally:
            close_old_connections()

    return export


def _export(signal: otlp_export.Signal, body: bytes, context: grpc.ServicerContext) -> Message:
    metadata: dict[str, Any] = dict(context.invocation_metadata())
    try:
        key = authenticate_ingest_key(str(metadata.get("authorization", "")))
    except DatabaseError:
        logger.exception("database unavailable while checking an ingest key")
        _abort(context, otlp_export.database_unavailable())
    if key is None:
        _abort(context, otlp_export.ExportRefused(otlp_export.UNAUTHENTICATED, otlp_export.UNKNOWN_KEY))
    try:
        reply = otlp_export.export(signal, body)
    except otlp_export.ExportRefused as refused:
        _abort(context, refused)
    if reply.ListFields():
        logger.info("ingest key %s, %s over gRPC: partial success", key.name, signal.name)
    return reply


def _abort(context: grpc.ServicerContext, refused: otlp_export.ExportRefused) -> NoReturn:
    code = _CODES.get(refused.status, grpc.StatusCode.INTERNAL)
    if refused.retry_after is not None:
        retry_info = RetryInfo()
        retry_info.retry_delay.seconds = refused.retry_after
        status = Status(code=code.value[0], message=refused.message)
        status.details.add().Pack(retry_info)
        context.set_trailing_metadata(
            (
                ("google.rpc.retryinfo-bin", retry_info.SerializeToString()),
                ("grpc-status-details-bin", status.SerializeToString()),
            )
        )
    context.abort(code, refused.message)

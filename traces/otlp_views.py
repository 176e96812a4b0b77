"""`POST /otlp/v1/traces`, `POST /otlp/v1/logs` and the Langfuse-compatible `POST /api/public/otel/v1/traces`:
authenticate, read, decompress, export (`traces.otlp_export`), answer in OTLP/HTTP terms."""

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from accounts.ingest_keys import authenticate_ingest_key
from tracefoundry_site import bounded_body
from traces import otlp_export, otlp_transport

logger = logging.getLogger(__name__)


@csrf_exempt
def receive_traces(request: HttpRequest) -> HttpResponse:
    return _receive(request, otlp_export.TRACES)


@csrf_exempt
def receive_logs(request: HttpRequest) -> HttpResponse:
    return _receive(request, otlp_export.LOGS)


@csrf_exempt
def receive_langfuse_traces(request: HttpRequest) -> HttpResponse:
    """The Langfuse SDKs' OTLP endpoint: HTTP Basic with the secret key (an ingest key) as password."""
    return _receive(request, otlp_export.TRACES, basic_auth=True)


def _receive(request: HttpRequest, signal: otlp_export.Signal, basic_auth: bool = False) -> HttpResponse:
    encoding = otlp_transport.ENCODINGS.get(request.content_type or "")
    reply_encoding = encoding or otlp_transport.PROTOBUF
    if request.method != "POST":
        response = otlp_transport.error_response(405, "only POST is supported", reply_encoding)
        response["Allow"] = "POST"
        return response
    try:
        key = authenticate_ingest_key(request.headers.get("Authorization", ""), basic=basic_auth)
    except DatabaseError:
        logger.exception("database unavailable while checking an ingest key")
        return _refused(otlp_export.database_unavailable(), reply_encoding)
    if key is None:
        message = otlp_export.UNKNOWN_KEY
        if basic_auth:
            message = "missing or unknown ingest key (HTTP Basic: any user name, the ingest key as password)"
        return otlp_transport.error_response(401, message, reply_encoding)
    if encoding is None:
        return otlp_transport.error_response(
            415,
            f"unsupported Content-Type {request.content_type!r}: use application/x-protobuf or application/json",
        )
    try:
        raw = bounded_body.read_body(request, settings.OTLP_MAX_BODY_BYTES)
        body = otlp_transport.decompress(
            raw, request.headers.get("Content-Encoding", ""), settings.OTLP_MAX_DECOMPRESSED_BYTES
        )
        reply = otlp_export.export(signal, body, json=encoding == otlp_transport.JSON)
    except bounded_body.BodyTooLarge as exc:
        return otlp_transport.error_response(413, str(exc), encoding)
    except otlp_transport.UnsupportedEncoding as exc:
        return otlp_transport.error_response(415, str(exc), encoding)
    except bounded_body.BadBody as exc:
        return otlp_transport.error_response(400, str(exc), encoding)
    except otlp_export.ExportRefused as refused:
        return _refused(refused, encoding)
    if reply.ListFields():
        logger.info("ingest key %s, %s: partial success", key.name, signal.name)
    return otlp_transport.success_response(encoding, reply)


def _refused(refused: otlp_export.ExportRefused, encoding: str) -> HttpResponse:
    return otlp_transport.error_response(refused.status, refused.message, encoding, retry_after=refused.retry_after)

"""`POST /otlp/v1/traces`: authenticate, read, decode, ingest, answer in OTLP/HTTP terms."""

import logging

from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from accounts.ingest_keys import authenticate_ingest_key
from tracefoundry_site import bounded_body
from traces import otlp, otlp_transport
from traces.ingest import ingest_request

logger = logging.getLogger(__name__)


@csrf_exempt
def receive_traces(request: HttpRequest) -> HttpResponse:
    encoding = otlp_transport.ENCODINGS.get(request.content_type or "")
    reply_encoding = encoding or otlp_transport.PROTOBUF
    if request.method != "POST":
        response = otlp_transport.error_response(405, "only POST is supported", reply_encoding)
        response["Allow"] = "POST"
        return response
    try:
        key = authenticate_ingest_key(request.headers.get("Authorization", ""))
    except DatabaseError:
        logger.exception("database unavailable while checking an ingest key")
        return _database_unavailable(reply_encoding)
    if key is None:
        return otlp_transport.error_response(
            401, "missing or unknown ingest key (Authorization: Bearer <key>)", reply_encoding
        )
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
        limits = otlp.RequestLimits(settings.OTLP_MAX_SPANS_PER_REQUEST, settings.OTLP_MAX_TRACES_PER_REQUEST)
        decode = otlp.decode_json if encoding == otlp_transport.JSON else otlp.decode_protobuf
        decoded = decode(body, limits)
    except (bounded_body.BodyTooLarge, otlp.RequestOverLimit) as exc:
        return otlp_transport.error_response(413, str(exc), encoding)
    except otlp_transport.UnsupportedEncoding as exc:
        return otlp_transport.error_response(415, str(exc), encoding)
    except (bounded_body.BadBody, otlp.OtlpDecodeError) as exc:
        return otlp_transport.error_response(400, str(exc), encoding)
    try:
        result = ingest_request(decoded)
    except (DataError, IntegrityError):
        # Validation keeps every value in its column's range, so this is a bug of ours: the details (which name
        # tables and columns) go to the log, not to the client.
        logger.exception("ingest batch refused by the database")
        return otlp_transport.error_response(
            400, "batch refused: a span holds a value that cannot be stored; nothing of the batch was written", encoding
        )
    except DatabaseError:
        logger.exception("database unavailable during ingest; nothing of the batch was written")
        return _database_unavailable(encoding)
    if result.rejected_spans:
        logger.info("ingest key %s: %s", key.name, result.error_message)
    return otlp_transport.success_response(encoding, result.rejected_spans, result.error_message)


def _database_unavailable(encoding: str) -> HttpResponse:
    return otlp_transport.error_response(
        503, "database unavailable, retry later", encoding, retry_after=settings.OTLP_RETRY_AFTER_SECONDS
    )

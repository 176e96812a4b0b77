"""The HTTP side of OTLP/HTTP: reading a bounded body, decompressing it with a bound, and the replies.

A body is read and inflated in chunks and cut off one byte past its limit, so an oversized body or a
decompression bomb costs at most the limit in memory. Replies follow OTLP/HTTP: the request's encoding,
Content-Type exactly `application/x-protobuf` or `application/json`, errors as `google.rpc.Status`.
"""

import gzip
import io
import json
import zlib
from typing import IO, Protocol

import zstandard
from django.http import HttpRequest, HttpResponse
from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
ENCODINGS = {PROTOBUF: PROTOBUF, "application/protobuf": PROTOBUF, JSON: JSON}
_CHUNK = 64 * 1024
# google.rpc.Code values, carried in Status.code.
_RPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 413: 8, 415: 3, 429: 8, 500: 13, 503: 14}


class BodyTooLarge(Exception):
    pass


class BadBody(Exception):
    pass


class UnsupportedEncoding(Exception):
    pass


def read_body(request: HttpRequest, limit: int) -> bytes:
    """The raw body, with or without Content-Length (a chunked body is read from the WSGI stream)."""
    declared = request.META.get("CONTENT_LENGTH")
    stream: IO[bytes]
    if declared:
        try:
            length = int(declared)
        except ValueError as exc:
            raise BadBody("invalid Content-Length") from exc
        if length > limit:
            raise BodyTooLarge(f"request body of {length} bytes is over the limit of {limit} bytes")
        stream = request  # type: ignore[assignment]  # HttpRequest is file-like over its bounded stream
    else:
        # Without Content-Length Django's request stream is empty; the server (gunicorn) has de-chunked
        # the WSGI input and ends it at the last chunk.
        stream = request.META["wsgi.input"]
    return _read_bounded(stream, limit, "request body")


def decompress(body: bytes, content_encoding: str, limit: int) -> bytes:
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    try:
        if encoding == "gzip":
            return _read_bounded(gzip.GzipFile(fileobj=io.BytesIO(body)), limit, "decompressed body")
        if encoding == "zstd":
            reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body), read_across_frames=True)
            return _read_bounded(reader, limit, "decompressed body")
    except (OSError, EOFError, zlib.error, zstandard.ZstdError) as exc:
        raise BadBody(f"body is not valid {encoding}: {exc}") from exc
    raise UnsupportedEncoding(f"Content-Encoding {content_encoding!r} is not supported (use gzip, zstd or none)")


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def _read_bounded(stream: _Readable, limit: int, what: str) -> bytes:
    buffer = bytearray()
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - len(buffer)))
        if not chunk:
            return bytes(buffer)
        buffer += chunk
        if len(buffer) > limit:
            raise BodyTooLarge(f"{what} is over the limit of {limit} bytes")


def success_response(encoding: str, rejected_spans: int = 0, error_message: str = "") -> HttpResponse:
    reply = ExportTraceServiceResponse()
    if rejected_spans or error_message:
        reply.partial_success.rejected_spans = rejected_spans
        reply.partial_success.error_message = error_message
    body = json.dumps(json_format.MessageToDict(reply)).encode() if encoding == JSON else reply.SerializeToString()
    return HttpResponse(body, status=200, content_type=encoding)


def error_response(status: int, message: str, encoding: str = PROTOBUF, retry_after: int | None = None) -> HttpResponse:
    rpc_status = Status(code=_RPC_CODES.get(status, 2), message=message)
    if encoding == JSON:
        body = json.dumps({"code": rpc_status.code, "message": message}).encode()
    else:
        body = rpc_status.SerializeToString()
    response = HttpResponse(body, status=status, content_type=encoding)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response

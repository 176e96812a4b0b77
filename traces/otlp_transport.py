"""The HTTP side of OTLP/HTTP: the bounded body (read by `tracefoundry_site.bounded_body`), decompressing it with
a bound, and the replies.

A body is inflated in chunks and cut off one byte past its limit, so a decompression bomb costs at most the
limit in memory. Replies follow OTLP/HTTP: the request's encoding,
Content-Type exactly `application/x-protobuf` or `application/json`, errors as `google.rpc.Status`.
"""

import gzip
import io
import json
import zlib

import zstandard
from django.http import HttpResponse
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc.status_pb2 import Status

from tracefoundry_site.bounded_body import BadBody, read_bounded

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
ENCODINGS = {PROTOBUF: PROTOBUF, "application/protobuf": PROTOBUF, JSON: JSON}
# google.rpc.Code values, carried in Status.code.
_RPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 413: 8, 415: 3, 429: 8, 500: 13, 503: 14}


class UnsupportedEncoding(Exception):
    pass


def decompress(body: bytes, content_encoding: str, limit: int) -> bytes:
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    try:
        if encoding == "gzip":
            return read_bounded(gzip.GzipFile(fileobj=io.BytesIO(body)), limit, "decompressed body")
        if encoding == "zstd":
            reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body), read_across_frames=True)
            return read_bounded(reader, limit, "decompressed body")
    except (OSError, EOFError, zlib.error, zstandard.ZstdError) as exc:
        raise BadBody(f"body is not valid {encoding}: {exc}") from exc
    raise UnsupportedEncoding(f"Content-Encoding {content_encoding!r} is not supported (use gzip, zstd or none)")


def success_response(encoding: str, reply: Message) -> HttpResponse:
    """200 with the export's reply (ExportTraceServiceResponse or ExportLogsServiceResponse)."""
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

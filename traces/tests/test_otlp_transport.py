"""`traces.otlp_transport` and the bounded body reader: limits hold for declared, chunked and inflated bodies,
unsupported or broken encodings are named, replies are OTLP/HTTP's (encoding, partial success, rpc status)."""

import gzip
import io
import json

import pytest
import zstandard
from django.http import HttpRequest
from django.test import RequestFactory
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tracefoundry_site.bounded_body import BadBody, BodyTooLarge, read_body
from traces import otlp_transport

BODY = b"x" * 1000


def _request(body: bytes, content_length: str | None) -> HttpRequest:
    request = RequestFactory().post("/otlp/v1/traces", data=body, content_type="application/x-protobuf")
    if content_length is None:
        del request.META["CONTENT_LENGTH"]
        request.META["wsgi.input"] = io.BytesIO(body)
    else:
        request.META["CONTENT_LENGTH"] = content_length
    return request


def test_a_body_within_the_limit_is_read_whole_with_or_without_content_length() -> None:
    assert read_body(_request(BODY, str(len(BODY))), limit=1000) == BODY
    assert read_body(_request(BODY, None), limit=1000) == BODY


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    with pytest.raises(BodyTooLarge, match="request body of 1000 bytes is over the limit of 999 bytes"):
        read_body(_request(BODY, "1000"), limit=999)


def test_a_chunked_body_is_cut_off_past_the_limit() -> None:
    with pytest.raises(BodyTooLarge, match="request body is over the limit of 999 bytes"):
        read_body(_request(BODY, None), limit=999)


def test_an_invalid_content_length_is_a_bad_body() -> None:
    with pytest.raises(BadBody, match="invalid Content-Length"):
        read_body(_request(BODY, "ten"), limit=1000)


@pytest.mark.parametrize(
    ("encoding", "compressed"),
    [
        ("gzip", gzip.compress(BODY, mtime=0)),
        ("zstd", zstandard.ZstdCompressor().compress(BODY)),
        ("", BODY),
        ("identity", BODY),
        (" GZIP ", gzip.compress(BODY, mtime=0)),
    ],
)
def test_supported_encodings_inflate(encoding: str, compressed: bytes) -> None:
    assert otlp_transport.decompress(compressed, encoding, limit=1000) == BODY


@pytest.mark.parametrize("encoding", ["gzip", "zstd"])
def test_a_decompression_bomb_stops_at_the_limit(encoding: str) -> None:
    bomb = gzip.compress(b"\0" * 10_000_000) if encoding == "gzip" else zstandard.compress(b"\0" * 10_000_000)

    with pytest.raises(BodyTooLarge, match="decompressed body is over the limit of 1000 bytes"):
        otlp_transport.decompress(bomb, encoding, limit=1000)


def test_a_broken_compressed_body_is_a_bad_body() -> None:
    with pytest.raises(BadBody, match="body is not valid gzip"):
        otlp_transport.decompress(b"not gzip", "gzip", limit=1000)


def test_an_unsupported_encoding_is_named() -> None:
    with pytest.raises(otlp_transport.UnsupportedEncoding, match="Content-Encoding 'br' is not supported"):
        otlp_transport.decompress(BODY, "br", limit=1000)


def test_success_replies_in_the_request_encoding_with_partial_success() -> None:
    partial = ExportTraceServiceResponse()
    partial.partial_success.rejected_spans = 2
    partial.partial_success.error_message = "bad ids"
    protobuf = otlp_transport.success_response(otlp_transport.PROTOBUF, partial)
    as_json = otlp_transport.success_response(otlp_transport.JSON, ExportTraceServiceResponse())

    reply = ExportTraceServiceResponse.FromString(protobuf.content)
    assert (protobuf.status_code, protobuf["Content-Type"]) == (200, "application/x-protobuf")
    assert (reply.partial_success.rejected_spans, reply.partial_success.error_message) == (2, "bad ids")
    assert (as_json["Content-Type"], json.loads(as_json.content)) == ("application/json", {})


@pytest.mark.parametrize(("status", "code"), [(400, 3), (401, 16), (413, 8), (415, 3), (429, 8), (503, 14), (418, 2)])
def test_errors_carry_the_rpc_status_code(status: int, code: int) -> None:
    protobuf = otlp_transport.error_response(status, "why")
    as_json = otlp_transport.error_response(status, "why", otlp_transport.JSON)

    assert (protobuf.status_code, Status.FromString(protobuf.content).code) == (status, code)
    assert json.loads(as_json.content) == {"code": code, "message": "why"}


def test_retry_after_is_sent_when_given() -> None:
    assert otlp_transport.error_response(503, "busy", retry_after=5)["Retry-After"] == "5"
    assert "Retry-After" not in otlp_transport.error_response(400, "bad")

"""Read a request body with a bound: in chunks, cut off one byte past the limit, so an oversized body costs at
most the limit in memory. Used by every endpoint that takes a raw body (OTLP, payload uploads)."""

from typing import IO, Protocol

from django.http import HttpRequest

_CHUNK = 64 * 1024


class BodyTooLarge(Exception):
    pass


class BadBody(Exception):
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
        # A chunked body: under ASGI (the web server) the request stream is the whole de-chunked body; under
        # WSGI (runserver, test live servers) Django's stream is empty and the server's input ends at the last chunk.
        stream = request.META.get("wsgi.input", request)
    return read_bounded(stream, limit, "request body")


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def read_bounded(stream: _Readable, limit: int, what: str) -> bytes:
    buffer = bytearray()
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - len(buffer)))
        if not chunk:
            return bytes(buffer)
        buffer += chunk
        if len(buffer) > limit:
            raise BodyTooLarge(f"{what} is over the limit of {limit} bytes")

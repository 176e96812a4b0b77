"""Bound the time and size of a request body before Django sees it (an ASGI wrapper around the Django app).

Granian reads request headers under its own deadline (`WEB_HEADER_TIMEOUT_SECONDS`); the body is read here, in
the event loop, while Django's ASGI handler spools it: the whole body must arrive within
`WEB_BODY_TIMEOUT_SECONDS` of the request's start (a total, so a client dribbling one byte a second is cut off
as surely as one that stops), and hold at most `WEB_MAX_BODY_BYTES`. A request over either gets 408 or 413 and
its connection is closed; no thread and no database connection is held meanwhile, because Django runs the view
only once the body is complete. Endpoints keep their own, smaller limits, read with `bounded_body.read_body`
(`OTLP_MAX_BODY_BYTES`...).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BoundedRequestBody:
    def __init__(self, app: AsgiApp, timeout_seconds: float, max_bytes: int) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _refuse(send, 413, f"request body of {declared} bytes is over the limit of {self.max_bytes} bytes")
            return
        body = _BodyReader(receive, time.monotonic() + self.timeout_seconds, self.max_bytes)
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        await self.app(scope, body.receive, tracked_send)
        if body.refusal and not started:
            await _refuse(send, *body.refusal)


class _BodyReader:
    """`receive` for the app: body messages until the deadline or the size limit, then a disconnect."""

    def __init__(self, receive: Receive, deadline: float, max_bytes: int) -> None:
        self._receive = receive
        self._deadline = deadline
        self._max_bytes = max_bytes
        self._received = 0
        self._complete = False
        self.refusal: tuple[int, str] | None = None

    async def receive(self) -> Message:
        if self._complete:
            # After the body, Django only listens for the client's disconnect: no deadline there.
            return await self._receive()
        try:
            async with asyncio.timeout(self._deadline - time.monotonic()):
                message = await self._receive()
        except TimeoutError:
            self.refusal = (408, "request body not received in time")
            return {"type": "http.disconnect"}
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self._max_bytes:
                self.refusal = (413, f"request body is over the limit of {self._max_bytes} bytes")
                return {"type": "http.disconnect"}
            self._complete = not message.get("more_body", False)
        return message


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, status: int, reason: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": reason.encode() + b"\n"})

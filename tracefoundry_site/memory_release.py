"""Give freed memory back to the operating system after a large request (an ASGI wrapper around the app).

Decoding and ingesting a large OTLP request or bundle builds many short-lived Python objects. Once they are freed,
glibc's allocator keeps most of their pages mapped, so a worker that served one 10,000-span request stayed about
80 MiB above its baseline for good. After a request whose body was at least `min_body_bytes`, this collects
garbage cycles and calls glibc's `malloc_trim(0)` (in a thread, after the response is sent), which hands the free
pages back: the worker returns to within a few MiB of its baseline (README, Benchmark). Small requests skip it,
as trimming walks the whole heap.

Known limit: without glibc (musl, macOS) nothing is trimmed; the server still replaces a worker whose memory
stays above `WEB_WORKER_MAX_RSS_MIB`.
"""

import asyncio
import ctypes
import ctypes.util
import gc
from collections.abc import Callable

from tracefoundry_site.asgi_body import AsgiApp, Message, Receive, Scope, Send


def _malloc_trim() -> Callable[[], None] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None

    def collect_and_trim() -> None:
        # The request's garbage cycles first: workers collect only every 20,000 allocations (asgi.py).
        gc.collect()
        trim(0)

    return collect_and_trim


class ReleaseMemoryAfterLargeRequests:
    def __init__(self, app: AsgiApp, min_body_bytes: int) -> None:
        self.app = app
        self.min_body_bytes = min_body_bytes
        self.trim = _malloc_trim()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.trim is None:
            await self.app(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            return message

        await self.app(scope, counting_receive, send)
        if received >= self.min_body_bytes:
            await asyncio.to_thread(self.trim)

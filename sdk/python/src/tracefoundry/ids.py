"""Trace and span ids: random as usual, or derived from a seed inside `seeded_ids(seed)`.

Seeded ids make a re-run of the same seeded code produce the same trace and span ids, so sending it twice
to an idempotent store (TraceFoundry upserts on (trace_id, span_id)) does not duplicate anything. The seed
lives in a context variable, so other code in the process keeps getting random ids.
"""

import hashlib
import random
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace import INVALID_SPAN_ID, INVALID_TRACE_ID

_seeded: ContextVar[random.Random | None] = ContextVar("tracefoundry_seeded_ids", default=None)


class SeedableIdGenerator(IdGenerator):
    """Random ids, unless the current context was given a seed by `seeded_ids`."""

    def __init__(self) -> None:
        self._random = RandomIdGenerator()

    def generate_span_id(self) -> int:
        rng = _seeded.get()
        if rng is None:
            return self._random.generate_span_id()
        return _nonzero(rng, 64, INVALID_SPAN_ID)

    def generate_trace_id(self) -> int:
        rng = _seeded.get()
        if rng is None:
            return self._random.generate_trace_id()
        return _nonzero(rng, 128, INVALID_TRACE_ID)


@contextmanager
def seeded_ids(seed: str | int) -> Iterator[None]:
    """Ids generated inside this block follow from `seed` alone (and the order spans are started in)."""
    # Hash the seed so that neighbouring seeds (1, 2, 3…) give unrelated id streams.
    digest = hashlib.sha256(f"tracefoundry-ids:{seed}".encode()).digest()
    token = _seeded.set(random.Random(int.from_bytes(digest, "big")))  # noqa: S311  # ids, not secrets
    try:
        yield
    finally:
        _seeded.reset(token)


def _nonzero(rng: random.Random, bits: int, invalid: int) -> int:
    value = rng.getrandbits(bits)
    while value == invalid:
        value = rng.getrandbits(bits)
    return value

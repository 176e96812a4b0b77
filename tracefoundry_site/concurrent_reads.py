"""Two independent reads of one request at once, each on a Postgres connection of its own: a request made of two
heavy statements then takes about as long as the slower one, not their sum, while the machine has a core to spare.

Only outside a transaction. Another connection does not see the transaction's snapshot or its uncommitted writes
(a test's transaction among them), so inside one both reads run here, one after the other. Outside one, each
statement already reads its own snapshot, so running them at once shows nothing they could not have seen one after
the other. The other thread runs in a copy of this one's context, so its reads go to the database this request's
reads go to (`db_routing`), and it hands its connection back to the pool as soon as it is done. On SQLite both run
here: the embedded default serves one user, and its connections are not pooled.

A request never waits for a second connection: with none free in the pool, or when the other thread cannot get
one, it reads both itself. (Requests that each held one connection and waited for a second could otherwise fill
the pool and wait on one another until its timeout.)
"""

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

from django.db import OperationalError, connection, connections

from tracefoundry_site.db_routing import read_database

First = TypeVar("First")
Second = TypeVar("Second")


def read_both(first: Callable[[], First], second: Callable[[], Second]) -> tuple[First, Second]:
    """`first()` and `second()`, the first on its own connection in another thread when that is safe (above)."""
    alias = read_database()
    in_transaction = any(c.in_atomic_block for c in connections.all(initialized_only=True))
    if connection.vendor != "postgresql" or in_transaction or not _pool_has_a_free_connection(alias):
        return first(), second()
    future: Future[First] = Future()
    thread = threading.Thread(
        target=contextvars.copy_context().run, args=(_read_on_own_connection, alias, first, future), daemon=True
    )
    thread.start()
    try:
        second_result = second()
    finally:
        thread.join()  # even when `second` failed: no read outlives its request
    if future.cancelled():  # the other thread got no connection
        return first(), second_result
    return future.result(), second_result


def _pool_has_a_free_connection(alias: str) -> bool:
    pool = getattr(connections[alias], "pool", None)  # psycopg_pool's, None when not pooled
    if pool is None:
        return True
    measures = pool.get_stats()
    return bool(measures["pool_available"] > 0 or measures["pool_size"] < measures["pool_max"])


def _read_on_own_connection(alias: str, read: Callable[[], First], future: Future[First]) -> None:
    try:
        connections[alias].ensure_connection()
    except OperationalError:
        future.cancel()
        return
    try:
        future.set_result(read())
    except BaseException as exc:  # raised by the request's thread
        future.set_exception(exc)
    finally:
        connections.close_all()

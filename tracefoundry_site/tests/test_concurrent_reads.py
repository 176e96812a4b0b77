"""`read_both`: two reads of one request at once on Postgres, each on a connection of its own, only outside a
transaction; the request's routing goes with the other thread, a failure comes back to the caller, and the other
thread's connection goes back to the pool (tracefoundry_site/concurrent_reads.py)."""

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from contextvars import ContextVar

import pytest
from django.conf import settings
from django.db import connections, transaction

from tracefoundry_site.concurrent_reads import _read_on_own_connection, read_both

pytestmark = [
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"), reason="on SQLite both reads run in the caller"
    ),
    pytest.mark.django_db(transaction=True),
]


def backend() -> tuple[int, int]:
    """This thread's id and the server process of its connection."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    return threading.get_ident(), pid


def test_outside_a_transaction_the_first_read_runs_in_another_thread_and_connection() -> None:
    (first_thread, first_pid), (second_thread, second_pid) = read_both(backend, backend)

    assert second_thread == threading.get_ident()
    assert first_thread != second_thread
    assert first_pid != second_pid


def test_inside_a_transaction_both_reads_run_here_on_its_connection() -> None:
    with transaction.atomic():
        first, second = read_both(backend, backend)

    assert first == second == (threading.get_ident(), first[1])


def test_the_other_thread_runs_in_this_ones_context() -> None:
    """As the replica a request reads from is chosen (`db_routing`)."""
    chosen: ContextVar[str] = ContextVar("chosen", default="")
    chosen.set("replica1")

    assert read_both(chosen.get, chosen.get) == ("replica1", "replica1")


def test_the_other_threads_failure_is_raised_here_once_both_reads_are_done() -> None:
    done: list[str] = []

    def failing() -> None:
        raise ValueError("no such bucket")

    def second() -> None:
        done.append("second")

    with pytest.raises(ValueError, match="no such bucket"):
        read_both(failing, second)
    assert done == ["second"]


def test_the_other_thread_hands_its_connection_back() -> None:
    used = []

    def first() -> int:
        used.append(connections["default"])
        return backend()[1]

    read_both(first, backend)

    assert used[0] is not connections["default"]
    assert used[0].connection is None


@contextmanager
def pool_exhausted(timeout: float) -> Iterator[None]:
    """Every connection the pool may open taken (this thread's included), getconn giving up after `timeout` s."""
    backend()
    pool = connections["default"].pool  # type: ignore[attr-defined]  # Postgres only: the stubs know no pool
    held = []
    saved_timeout, pool.timeout = pool.timeout, timeout
    try:
        while (stats := pool.get_stats())["pool_available"] or stats["pool_size"] < stats["pool_max"]:
            held.append(pool.getconn())
        yield
    finally:
        pool.timeout = saved_timeout
        for held_connection in held:
            pool.putconn(held_connection)


def test_with_no_free_connection_in_the_pool_both_reads_run_here() -> None:
    with pool_exhausted(timeout=5):
        first, second = read_both(backend, backend)

    assert first == second == (threading.get_ident(), second[1])


def test_when_the_other_thread_gets_no_connection_it_leaves_its_read_to_the_caller() -> None:
    future: Future[tuple[int, int]] = Future()

    with pool_exhausted(timeout=0.1):
        thread = threading.Thread(target=_read_on_own_connection, args=("default", backend, future))
        thread.start()
        thread.join()

    assert future.cancelled()

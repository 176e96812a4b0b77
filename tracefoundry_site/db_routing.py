"""Read replicas: which database each query goes to, when `DATABASE_REPLICA_URL` names Postgres replicas.

The rule (README, "Scaling"):
- Everything goes to the primary (`default`) unless `ReplicaReadsMiddleware` lets one web request read from a
  replica. Celery tasks, management commands, ingest, imports and retention never read from a replica.
- A request reads from a replica when its method is safe (GET, HEAD, OPTIONS) and its client has not written
  recently: every unsafe request (OTLP ingest, a bundle import, a payload upload, a login) sets the cookie
  `tf_read_primary`, which lasts `DATABASE_REPLICA_MAX_LAG_SECONDS + DATABASE_REPLICA_CHECK_SECONDS + 1` s, and
  while a client sends it, its reads go to the primary (it sees its own writes, on whichever web host answers).
- Within such a request, writes, and reads inside a transaction on the primary, still go to the primary.
- A replica is used only while it answers and replays WAL at most `DATABASE_REPLICA_MAX_LAG_SECONDS` behind the
  primary (`pg_last_xact_replay_timestamp()` when `pg_last_wal_replay_lsn()` trails the WAL received). Each web
  process checks a replica at most every `DATABASE_REPLICA_CHECK_SECONDS` and keeps the answer that long; with no
  healthy replica, reads go to the primary. A read that fails for want of its replica is marked down and the view
  runs again on the primary (safe methods only, so running it twice changes nothing).

Known limits: lag is measured from the WAL a replica has received, so a replica whose WAL receiver is cut off
from the primary looks current until it reconnects; clients that keep no cookies (scripts with tokens) read their
own writes only within one request; a replica that dies between two checks costs the requests routed to it the
pool's timeout (`DATABASE_POOL_TIMEOUT_SECONDS`) before they are served by the primary.
"""

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

PRIMARY_COOKIE = "tf_read_primary"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Behind by up to one commit's worth of WAL, a replica replays within milliseconds; lag is the age of the last
# transaction it replayed, measured only while it has received WAL it has not yet replayed.
_LAG_SQL = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 'Infinity')
       END
"""

_read_alias: ContextVar[str | None] = ContextVar("tf_read_alias", default=None)
_health_lock = threading.Lock()
_health: dict[str, tuple[float, bool]] = {}  # alias -> (checked at, monotonic; usable)


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias != DEFAULT_DB_ALIAS]


def sticky_seconds() -> int:
    """How long a client reads from the primary after it wrote: long enough for any usable replica to have it."""
    return int(settings.DATABASE_REPLICA_MAX_LAG_SECONDS + settings.DATABASE_REPLICA_CHECK_SECONDS) + 1


def replica_lag_seconds(alias: str) -> float:
    """Replay lag of one replica, in seconds; raises psycopg.Error if it cannot be asked, ValueError if it is
    no standby (promoted, or a primary named by mistake)."""
    params = connections[alias].get_connection_params()
    params.pop("pool", None)
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, connect_timeout=1, autocommit=True) as probe:
        in_recovery, lag = probe.execute(_LAG_SQL).fetchone() or (False, 0.0)
    if not in_recovery:
        raise ValueError("not in recovery")
    return float(lag)


def _usable(alias: str) -> bool:
    now = time.monotonic()
    checked = _health.get(alias)
    if checked is not None and now - checked[0] < settings.DATABASE_REPLICA_CHECK_SECONDS:
        return checked[1]
    try:
        lag = replica_lag_seconds(alias)
    except (psycopg.Error, ValueError) as error:
        logger.warning("replica %s skipped: %s", alias, str(error).strip())
        usable = False
    else:
        usable = lag <= settings.DATABASE_REPLICA_MAX_LAG_SECONDS
        if not usable:
            logger.warning("replica %s skipped: %.1f s behind the primary", alias, lag)
    with _health_lock:
        _health[alias] = (now, usable)
    return usable


def mark_down(alias: str) -> None:
    with _health_lock:
        _health[alias] = (time.monotonic(), False)


def choose_replica() -> str | None:
    usable = [alias for alias in replica_aliases() if _usable(alias)]
    return random.choice(usable) if usable else None  # noqa: S311 (spreading load, not security)


@contextmanager
def reads_from(alias: str | None) -> Iterator[None]:
    """Within the block, reads outside a primary transaction go to `alias` (None: the primary)."""
    token = _read_alias.set(alias)
    try:
        yield
    finally:
        _read_alias.reset(token)


def read_database() -> str:
    """The database this thread's reads go to now: the request's replica, if any, outside a primary transaction."""
    alias = _read_alias.get()
    if alias is None or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    return alias


class ReplicaRouter:
    """Django database router: reads to the replica chosen for this request, if any; all else to the primary."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        return read_database()

    def db_for_write(self, model: type, **hints: Any) -> str:
        # Explicit: without an answer Django writes an instance back to the database it was read from.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # replicas hold the primary's rows

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


class ReplicaReadsMiddleware:
    """Lets safe requests of clients that have not written recently read from a healthy replica."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not replica_aliases():
            return self.get_response(request)
        if request.method not in SAFE_METHODS:
            response = self.get_response(request)
            response.set_cookie(PRIMARY_COOKIE, "1", max_age=sticky_seconds(), httponly=True, samesite="Lax")
            return response
        alias = None if PRIMARY_COOKIE in request.COOKIES else choose_replica()
        with reads_from(alias):
            return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        alias = _read_alias.get()
        match = request.resolver_match
        if alias is None or match is None or not isinstance(exception, OperationalError):
            return None
        logger.warning("replica %s failed a read (%s); served by the primary", alias, exception)
        mark_down(alias)
        with reads_from(None):
            response: HttpResponse = match.func(request, *match.args, **match.kwargs)
            if hasattr(response, "render"):
                response.render()
            return response

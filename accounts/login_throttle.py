"""Throttling failed logins, per username and per client address, on every password way in.

Both the login form (`accounts.forms`) and HTTP Basic on the API (`accounts.authentication`) check passwords
only through `authenticate_throttled`. After `LOGIN_FAILURE_LIMIT` failures for one username, or
`LOGIN_FAILURE_LIMIT_PER_ADDRESS` failures from one address, within `LOGIN_COOLDOWN_SECONDS`, that username or
address is locked for `LOGIN_COOLDOWN_SECONDS`: every attempt raises `LoginThrottled` (answered with 429 and
`Retry-After`), even with the right password, and is not checked at all. A success clears the username's
count, never the address's (a valid account must not reset an attacker's address).

State lives in Django's default cache (Redis with REDIS_URL, else a file cache shared by the web server's workers
of one host); usernames and addresses are hashed into the keys. Failures are logged with username, address and
way in, never the password.

Known limits: the address is REMOTE_ADDR, so behind a reverse proxy all clients share the proxy's address
(raise LOGIN_FAILURE_LIMIT_PER_ADDRESS there); counting is not atomic on the file and database caches, so
concurrent failures may be under-counted by a few. Locking by username lets anyone lock a user out for the
cool-down; that is the price of stopping password guessing against one account from many addresses.
"""

import hashlib
import logging
import math
import time

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.request import Request

logger = logging.getLogger("accounts.login")

_PREFIX = "tf-login"


class LoginThrottled(Exception):  # named for what happened, like PermissionDenied
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


def client_address(request: HttpRequest | Request | None) -> str:
    return (request.META.get("REMOTE_ADDR") if request is not None else None) or "unknown"


def _key(kind: str, what: str, value: str) -> str:
    return f"{_PREFIX}:{kind}:{what}:{hashlib.sha256(value.encode()).hexdigest()}"


def _subjects(username: str, address: str) -> list[tuple[str, str, int]]:
    return [
        ("user", username.casefold(), settings.LOGIN_FAILURE_LIMIT),
        ("addr", address, settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS),
    ]


def seconds_locked(username: str, address: str) -> int:
    """Seconds until the username and the address may try again (0: they may now)."""
    now = time.time()
    until = max((cache.get(_key("lock", what, value), 0.0) for what, value, _ in _subjects(username, address)))
    return max(0, math.ceil(until - now))


def record_failure(username: str, address: str, way_in: str) -> None:
    cooldown = settings.LOGIN_COOLDOWN_SECONDS
    for what, value, limit in _subjects(username, address):
        count_key = _key("fail", what, value)
        cache.add(count_key, 0, timeout=cooldown)
        try:
            count = cache.incr(count_key)
        except ValueError:  # the count expired between add and incr
            cache.set(count_key, 1, timeout=cooldown)
            count = 1
        if count >= limit:
            cache.set(_key("lock", what, value), time.time() + cooldown, timeout=cooldown)
            cache.delete(count_key)
            logger.warning(
                "login locked for %s s after %d failures: %s=%r via %s", cooldown, count, what, value, way_in
            )
    logger.warning("login failed: username=%r address=%s via %s", username, address, way_in)


def record_success(username: str) -> None:
    cache.delete(_key("fail", "user", username.casefold()))


def authenticate_throttled(
    request: HttpRequest | Request | None, username: str, password: str, way_in: str
) -> AbstractBaseUser | None:
    """Check a password unless the username or address is locked; raises LoginThrottled if it is."""
    address = client_address(request)
    wait = seconds_locked(username, address)
    if wait:
        logger.warning("login refused while locked: username=%r address=%s via %s", username, address, way_in)
        raise LoginThrottled(wait)
    user = authenticate(request, username=username, password=password)
    if user is None:
        record_failure(username, address, way_in)
    else:
        record_success(username)
    return user

"""Failed logins are throttled per username and per address, on the login form and on HTTP Basic."""

import base64
import logging
import time
import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from conftest import PASSWORD

WRONG = "not-the-password-at-all"


def _form_login(client: Client, username: str, password: str) -> int:
    return client.post("/accounts/login/", {"username": username, "password": password}).status_code


def _basic(username: str, password: str, address: str = "127.0.0.1") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {token}")
    return client


@pytest.fixture
def limits(settings: Settings) -> Settings:
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = 5
    settings.LOGIN_COOLDOWN_SECONDS = 60
    return settings


@pytest.mark.django_db
def test_the_login_form_signs_in_with_the_right_password(viewer: User) -> None:
    client = Client()

    response = client.post("/accounts/login/", {"username": viewer.username, "password": PASSWORD, "next": "/api/me"})

    assert response.status_code == 302
    assert response["Location"] == "/api/me"
    assert client.get("/api/me").json()["username"] == viewer.username


@pytest.mark.django_db
@pytest.mark.usefixtures("limits")
def test_the_login_form_locks_a_username_after_the_limit_even_for_the_right_password(viewer: User) -> None:
    client = Client()

    statuses = [_form_login(client, viewer.username, WRONG) for _ in range(3)]
    locked = client.post("/accounts/login/", {"username": viewer.username, "password": PASSWORD})

    assert statuses == [200, 200, 200]
    assert locked.status_code == 429
    assert 0 < int(locked["Retry-After"]) <= 60
    assert b"Too many failed sign-ins" in locked.content
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@pytest.mark.usefixtures("limits")
def test_the_lock_is_shared_by_the_form_and_http_basic(viewer: User) -> None:
    for _ in range(3):
        _form_login(Client(), viewer.username, WRONG)

    response = _basic(viewer.username, PASSWORD, address="10.0.0.9").get("/api/me")

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60


@pytest.mark.django_db
@pytest.mark.usefixtures("limits")
def test_http_basic_locks_a_username_after_the_limit(viewer: User) -> None:
    failures = [_basic(viewer.username, WRONG).get("/api/me").status_code for _ in range(3)]

    locked = _basic(viewer.username, PASSWORD).get("/api/me")

    assert failures == [401, 401, 401]
    assert locked.status_code == 429
    assert 0 < int(locked["Retry-After"]) <= 60


@pytest.mark.django_db
@pytest.mark.usefixtures("limits")
def test_an_address_is_locked_after_failures_on_many_usernames(viewer: User) -> None:
    failures = [_basic(f"nobody-{n}", WRONG, address="10.0.0.1").get("/api/me").status_code for n in range(5)]

    from_that_address = _basic(viewer.username, PASSWORD, address="10.0.0.1").get("/api/me")
    from_elsewhere = _basic(viewer.username, PASSWORD, address="10.0.0.2").get("/api/me")

    assert failures == [401] * 5
    assert from_that_address.status_code == 429
    assert from_elsewhere.status_code == 200


@pytest.mark.django_db
@pytest.mark.usefixtures("limits")
def test_a_success_clears_the_usernames_failures(viewer: User) -> None:
    client = Client()
    for _ in range(2):
        _form_login(client, viewer.username, WRONG)
    assert _form_login(client, viewer.username, PASSWORD) == 302

    after = [_form_login(Client(), viewer.username, WRONG) for _ in range(2)]

    assert after == [200, 200]
    assert _form_login(Client(), viewer.username, PASSWORD) == 302


@pytest.mark.django_db
def test_the_lock_ends_after_the_cool_down(viewer: User, settings: Settings) -> None:
    settings.LOGIN_FAILURE_LIMIT = 2
    settings.LOGIN_COOLDOWN_SECONDS = 1
    for _ in range(2):
        _form_login(Client(), viewer.username, WRONG)
    assert _form_login(Client(), viewer.username, PASSWORD) == 429

    time.sleep(1.2)

    assert _form_login(Client(), viewer.username, PASSWORD) == 302


@pytest.mark.django_db
@pytest.mark.usefixtures("limits")
def test_failures_are_logged_without_the_password(viewer: User, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="accounts.login")
    secret_attempt = "Hunter2-secret-attempt"

    for _ in range(4):
        _form_login(Client(), viewer.username, secret_attempt)
    _basic(viewer.username, secret_attempt).get("/api/me")

    assert "login failed: username='vera-viewer'" in caplog.text
    assert "login locked" in caplog.text
    assert "login refused while locked" in caplog.text
    assert secret_attempt not in caplog.text


@pytest.mark.django_db
@pytest.mark.usefixtures("limits")
def test_the_throttle_works_on_redis(viewer: User, settings: Settings) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
            "KEY_PREFIX": f"tf-accounts-test-{uuid.uuid4().hex}",
        }
    }
    # A key prefix of its own, and no clear() (that would flush the shared Redis db); the keys expire.
    failures = [_basic(viewer.username, WRONG).get("/api/me").status_code for _ in range(3)]
    locked = _basic(viewer.username, PASSWORD).get("/api/me")

    assert failures == [401, 401, 401]
    assert locked.status_code == 429

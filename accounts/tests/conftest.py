"""Fixtures of the accounts tests: a private cache (the login throttle keeps its counts there), a superuser,
and API clients signed in as each persona."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from conftest import PASSWORD
from testing.access_table import ADMIN, ENGINEER, NO_GROUP, SUPERUSER, VIEWER

PERSONA_FIXTURES = {
    NO_GROUP: "outsider",
    VIEWER: "viewer",
    ENGINEER: "engineer",
    ADMIN: "admin_user",
    SUPERUSER: "superuser",
}


@pytest.fixture(autouse=True)
def private_cache(settings: Settings, request: pytest.FixtureRequest) -> None:
    # A local-memory cache of its own per test (never cleared: clearing a Redis cache flushes the whole db).
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": request.node.nodeid,
        }
    }


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("sam-superuser", password=PASSWORD)


@pytest.fixture
def client_as(request: pytest.FixtureRequest) -> Callable[[str], APIClient]:
    """An APIClient signed in (session) as the persona."""

    def make(persona: str) -> APIClient:
        client = APIClient()
        client.force_login(request.getfixturevalue(PERSONA_FIXTURES[persona]))
        return client

    return make

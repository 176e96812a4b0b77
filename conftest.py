"""Fixtures shared by every app's tests: users in each role, an ingest key, an OTLP span builder."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User

from accounts.models import IngestKey
from accounts.roles import Role

PASSWORD = "correct-horse-battery-staple-42"  # noqa: S105 (test personas only)


def _user(username: str, role: str | None) -> User:
    user = User.objects.create_user(username, password=PASSWORD)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def viewer(db: None) -> User:
    return _user("vera-viewer", Role.VIEWER)


@pytest.fixture
def engineer(db: None) -> User:
    return _user("erin-engineer", Role.ENGINEER)


@pytest.fixture
def admin_user(db: None) -> User:
    return _user("ada-admin", Role.ADMIN)


@pytest.fixture
def outsider(db: None) -> User:
    return _user("olaf-outsider", None)


@pytest.fixture
def ingest_key(db: None) -> str:
    _, raw_key = IngestKey.issue("tests")
    return raw_key


@pytest.fixture
def otlp_headers(ingest_key: str) -> Callable[..., dict[str, str]]:
    def headers(content_type: str = "application/x-protobuf", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {ingest_key}", "Content-Type": content_type, **extra}

    return headers


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # PBKDF2's deliberate slowness would dominate test time; hashing strength is not what tests check.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def payload_dir(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    # Payload blobs written by any test (ingest moves prompts to the payload store) go to a temporary folder.
    settings.PAYLOAD_DIR = tmp_path_factory.mktemp("payloads")
    return settings.PAYLOAD_DIR

"""Fixtures shared by every app's tests: users in each role, an ingest key, payload storage on S3."""

import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from django.contrib.auth.models import Group, User

from accounts.models import IngestKey
from accounts.roles import Role
from testing.servers import free_port, wait_until_serving

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


# --- a real S3-compatible server (moto's standalone server) for payload storage on S3 ---------------------

_S3_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """URL of a moto S3 server on a free 127.0.0.1 port, stopped when the session ends."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def s3_client(moto_endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=moto_endpoint, **_S3_CREDENTIALS)


@pytest.fixture
def s3_bucket(settings: Any, moto_endpoint: str, s3_client: Any) -> str:
    """PAYLOAD_STORAGE=s3 against a fresh bucket on the moto server."""
    bucket = f"tf-payloads-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=bucket)
    settings.PAYLOAD_STORAGE = "s3"
    settings.AWS_STORAGE_BUCKET_NAME = bucket
    settings.AWS_S3_ENDPOINT_URL = moto_endpoint
    settings.AWS_ACCESS_KEY_ID = _S3_CREDENTIALS["aws_access_key_id"]
    settings.AWS_SECRET_ACCESS_KEY = _S3_CREDENTIALS["aws_secret_access_key"]
    settings.AWS_S3_REGION_NAME = _S3_CREDENTIALS["region_name"]
    return bucket


def pytest_terminal_summary(terminalreporter: Any) -> None:
    # The fuzz tests' tally (cases sent, answers of 500), for `make fuzz` and the normal suite alike.
    from tracefoundry_site.tests.fuzzing import summary_lines

    for line in summary_lines():
        terminalreporter.write_line(line)

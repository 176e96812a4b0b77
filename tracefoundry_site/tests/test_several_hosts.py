"""Two web servers sharing one Postgres, one Redis and one S3 bucket behave as one: web processes keep no state."""

import itertools
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from django.db import connection

from bundles.tests.factories import store_trace
from conftest import PASSWORD
from testing.factories import agent_trace, export_request
from testing.servers import database_url, web_server
from traces.models import Span, Trace

pytestmark = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"), reason="several hosts share a Postgres server"
)

SUMMARY_FIELDS = (
    "start_unix_nano",
    "end_unix_nano",
    "duration_ns",
    "status",
    "span_count",
    "error_count",
    "llm_call_count",
    "tool_call_count",
    "retry_count",
    "orphan_count",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
    "models_used",
    "tools_used",
)


class QuickPBKDF2(PBKDF2PasswordHasher):
    # The servers check the default hashers, not the tests' MD5; few iterations keep the logins quick.
    iterations = 1000


@pytest.fixture
def hosts(
    transactional_db: None, s3_bucket: str, moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    shared = {
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "CACHE_KEY_PREFIX": f"tf-test-{uuid.uuid4().hex}",  # this test's own keys in the shared Redis
        "PAYLOAD_STORAGE": "s3",
        "PAYLOAD_INLINE_MAX_BYTES": "0",  # every payload goes to S3, none inline in the database
        "AWS_STORAGE_BUCKET_NAME": s3_bucket,
        "AWS_S3_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_S3_REGION_NAME": "us-east-1",
        "LOGIN_FAILURE_LIMIT": "3",
    }
    # Each host its own local folder (file cache, payload folder, broker folder), as on separate machines.
    env_a = {**shared, "VAR_DIR": str(tmp_path_factory.mktemp("host-a"))}
    env_b = {**shared, "VAR_DIR": str(tmp_path_factory.mktemp("host-b"))}
    db_url = database_url(connection.settings_dict)
    with web_server(db_url, extra_env=env_a) as host_a, web_server(db_url, extra_env=env_b) as host_b:
        yield host_a, host_b


def server_checkable(user: User) -> User:
    user.password = QuickPBKDF2().encode(PASSWORD, QuickPBKDF2().salt())
    user.save(update_fields=["password"])
    return user


def log_in(base_url: str, username: str, password: str) -> tuple[requests.Session, int]:
    client = requests.Session()
    client.get(base_url + "/accounts/login/", timeout=30)
    form = {"username": username, "password": password, "csrfmiddlewaretoken": client.cookies["csrftoken"]}
    response = client.post(base_url + "/accounts/login/", data=form, allow_redirects=False, timeout=30)
    return client, response.status_code


def test_load_split_across_two_hosts_is_stored_once_with_exact_summaries(hosts: tuple[str, str], otlp_headers) -> None:
    reference = Trace.objects.get(trace_id=store_trace(agent_trace()))
    traces = [agent_trace() for _ in range(40)]
    # Each trace's spans come in two halves to different hosts, and whole again to either (a collector's retry).
    batches = [batch for spans in traces for batch in (spans[:2], spans[2:], spans)]
    bodies = [export_request(batch).SerializeToString() for batch in batches]

    def send(target: tuple[str, bytes]) -> int:
        host, body = target
        return requests.post(host + "/otlp/v1/traces", data=body, headers=otlp_headers(), timeout=60).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(send, zip(itertools.cycle(hosts), bodies, strict=False)))

    assert statuses == [200] * len(bodies)
    assert Span.objects.count() == 4 * (len(traces) + 1)
    expected = tuple(getattr(reference, name) for name in SUMMARY_FIELDS)
    stored = Trace.objects.filter(trace_id__in=[spans[0].trace_id for spans in traces])
    assert [tuple(getattr(trace, name) for name in SUMMARY_FIELDS) for trace in stored] == [expected] * len(traces)


def test_logins_sessions_and_payloads_are_shared_by_the_hosts(
    hosts: tuple[str, str], engineer: User, ingest_key: str, s3_client, s3_bucket: str
) -> None:
    host_a, host_b = hosts
    viewer_name = server_checkable(User.objects.create_user("vic-throttled")).username
    server_checkable(engineer)

    failures = [log_in(host, viewer_name, "wrong-password")[1] for host in (host_a, host_b, host_a)]
    _, right_password_on_b = log_in(host_b, viewer_name, PASSWORD)
    session, signed_in_on_a = log_in(host_a, engineer.username, PASSWORD)
    me_on_b = session.get(host_b + "/api/me", timeout=30)
    uploaded = requests.post(
        host_a + "/api/payloads",
        data='{"prompt": "What is the capital of Peru?"}',
        headers={"Authorization": f"Bearer {ingest_key}", "Content-Type": "application/json"},
        timeout=30,
    )
    read_on_b = session.get(f"{host_b}/api/payloads/{uploaded.json()['ref']}", timeout=30)

    assert failures == [200, 200, 200]  # the form shown again with its error
    assert right_password_on_b == 429  # the third failure, on another host, locked the username
    assert signed_in_on_a == 302
    assert me_on_b.status_code == 200
    assert me_on_b.json()["username"] == engineer.username
    assert uploaded.status_code == 201
    assert read_on_b.status_code == 200
    assert read_on_b.json()["content"] == '{"prompt": "What is the capital of Peru?"}'
    assert s3_client.list_objects_v2(Bucket=s3_bucket)["KeyCount"] == 1

"""API reads from a real streaming replica of the test Postgres server; the primary after a client's own write,
and whenever the replica lags or is down (tracefoundry_site/db_routing.py)."""

import io
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager

import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.authtoken.models import Token

from bundles.exports import export_trace
from bundles.tests.factories import store_trace
from testing.factories import agent_trace
from testing.replica import Replica, postgres_bindir, streaming_replica
from testing.servers import database_url, web_server
from traces.models import Trace

pytestmark = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"), reason="SQLite has no read replicas"
)


@pytest.fixture(scope="session")
def replica_server(django_db_setup: None) -> Iterator[Replica]:
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("pg_basebackup and postgres of the server's major version are not installed")
    with streaming_replica(bindir) as replica:
        yield replica


@pytest.fixture
def replica(replica_server: Replica, transactional_db: None) -> Iterator[Replica]:
    yield replica_server
    replica_server.start()
    replica_server.resume_replay()


def serve_with_replica(replica: Replica, **extra_env: str) -> AbstractContextManager[str]:
    settings_dict = connection.settings_dict
    env = {"DATABASE_REPLICA_URL": replica.url(settings_dict["NAME"]), "DATABASE_POOL_TIMEOUT_SECONDS": "1"}
    return web_server(database_url(settings_dict), workers=1, extra_env={**env, **extra_env})


def listed(client: requests.Session, base_url: str) -> set[str]:
    response = client.get(base_url + "/api/traces", timeout=30)
    assert response.status_code == 200, response.text
    return {item["trace_id"] for item in response.json()["items"]}


def reader(user: User) -> requests.Session:
    """A client with a cookie jar, signed in with an API token (the servers cannot check the tests' fast hashes)."""
    client = requests.Session()
    client.headers["Authorization"] = f"Token {Token.objects.get_or_create(user=user)[0].key}"
    return client


def test_reads_go_to_the_replica_and_a_client_reads_its_own_import_from_the_primary(
    replica: Replica, engineer: User
) -> None:
    old_trace = store_trace(agent_trace())
    bundle = export_trace(store_trace(agent_trace()), include_payloads=False, redaction="standard").content
    imported_trace = Trace.objects.exclude(trace_id=old_trace).get().trace_id
    Trace.objects.filter(trace_id=imported_trace).delete()
    other_client, importer = reader(engineer), reader(engineer)
    replica.wait_caught_up()
    replica.pause_replay()

    with serve_with_replica(replica, DATABASE_REPLICA_MAX_LAG_SECONDS="3600") as base_url:
        imported = importer.post(base_url + "/api/bundles/import", files={"bundle": io.BytesIO(bundle)}, timeout=30)
        seen_by_importer = importer.get(f"{base_url}/api/traces/{imported_trace}", timeout=30)
        listed_for_importer = listed(importer, base_url)
        listed_for_others = listed(other_client, base_url)
        replica.resume_replay()
        replica.wait_caught_up()
        listed_for_others_after_replay = listed(other_client, base_url)

    assert imported.status_code == 201, imported.text
    assert "tf_read_primary" in importer.cookies
    assert seen_by_importer.status_code == 200
    assert listed_for_importer == {old_trace, imported_trace}
    # The replica, paused before the import, still shows the trace as it was: reads went there.
    assert listed_for_others == {old_trace}
    assert listed_for_others_after_replay == {old_trace, imported_trace}


def test_a_lagging_replica_is_skipped(replica: Replica, viewer: User) -> None:
    old_trace = store_trace(agent_trace())
    client = reader(viewer)
    replica.wait_caught_up()
    replica.pause_replay()
    new_trace = store_trace(agent_trace())
    time.sleep(1.5)

    with serve_with_replica(replica, DATABASE_REPLICA_MAX_LAG_SECONDS="1") as base_url:
        seen = listed(client, base_url)

    assert seen == {old_trace, new_trace}


def test_a_replica_found_down_is_skipped(replica: Replica, viewer: User) -> None:
    trace_id = store_trace(agent_trace())
    client = reader(viewer)
    replica.stop()

    with serve_with_replica(replica, DATABASE_REPLICA_CHECK_SECONDS="0") as base_url:
        seen = listed(client, base_url)

    assert seen == {trace_id}


def test_a_replica_that_fails_between_checks_is_replaced_by_the_primary(replica: Replica, viewer: User) -> None:
    old_trace = store_trace(agent_trace())
    client = reader(viewer)
    replica.wait_caught_up()
    replica.pause_replay()
    new_trace = store_trace(agent_trace())

    with serve_with_replica(
        replica, DATABASE_REPLICA_CHECK_SECONDS="600", DATABASE_REPLICA_MAX_LAG_SECONDS="3600"
    ) as base_url:
        from_replica = listed(client, base_url)
        replica.stop()
        after_stop = listed(client, base_url)

    assert from_replica == {old_trace}
    assert after_stop == {old_trace, new_trace}

"""Ingest through the web server, as deployed: chunked bodies, and a database that is down or busy."""

import socket
import threading
from collections.abc import Iterator

import pytest
import requests
from django.db import connection
from google.rpc.status_pb2 import Status

from testing.factories import agent_trace, export_request
from testing.servers import database_url, free_port, web_server
from traces.models import Span, Trace

URL = "/otlp/v1/traces"


@pytest.fixture
def server(transactional_db: None) -> Iterator[str]:
    with web_server(database_url(connection.settings_dict)) as base_url:
        yield base_url


def chunked_post(base_url: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 300):
            yield body[start : start + 300]

    return requests.post(base_url + URL, data=chunks(), headers=headers, timeout=30)


def test_chunked_body_without_content_length_is_read_whole(server: str, otlp_headers) -> None:
    spans = agent_trace()
    body = export_request(spans).SerializeToString()
    assert len(body) > 300

    response = chunked_post(server, body, otlp_headers())

    assert response.status_code == 200, Status.FromString(response.content).message
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in response.request.headers
    assert Span.objects.filter(trace_id=spans[0].trace_id).count() == 4


def test_chunked_body_over_the_limit_is_413(transactional_db: None, otlp_headers) -> None:
    body = export_request(agent_trace() * 10).SerializeToString()
    with web_server(database_url(connection.settings_dict), extra_env={"OTLP_MAX_BODY_BYTES": "1000"}) as base_url:
        response = chunked_post(base_url, body, otlp_headers())
    assert response.status_code == 413
    assert Span.objects.count() == 0


def test_database_down_is_503_with_retry_after(transactional_db: None, otlp_headers) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound but never listening: connections are refused
        port = closed.getsockname()[1]
        with web_server(f"postgres://postgres@127.0.0.1:{port}/nowhere") as base_url:
            response = requests.post(
                base_url + URL,
                data=export_request(agent_trace()).SerializeToString(),
                headers=otlp_headers(),
                timeout=30,
            )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "database unavailable" in Status.FromString(response.content).message
    assert free_port() > 0


def test_database_busy_mid_batch_writes_nothing_and_the_retry_succeeds(transactional_db: None, otlp_headers) -> None:
    spans = agent_trace()
    body = export_request(spans).SerializeToString()
    settings_dict = connection.settings_dict
    postgres = not settings_dict["ENGINE"].endswith("sqlite3")
    db_url = database_url(settings_dict) + ("?options=-c%20lock_timeout%3D500" if postgres else "?timeout=0.5")
    locked, release = threading.Event(), threading.Event()

    def hold_write_lock() -> None:
        # Another client holds the spans table (Postgres) or the database write lock (SQLite) until released.
        from django.db import connections

        other = connections.create_connection("default")
        with other.cursor() as cursor:
            if postgres:
                cursor.execute("BEGIN")
                cursor.execute("LOCK TABLE spans IN ACCESS EXCLUSIVE MODE")
            else:
                other.connection.isolation_level = None
                cursor.execute("BEGIN IMMEDIATE")
            locked.set()
            release.wait(30)
            cursor.execute("ROLLBACK")
        other.close()

    holder = threading.Thread(target=hold_write_lock)
    holder.start()
    try:
        locked.wait(10)
        with web_server(db_url) as base_url:
            refused = requests.post(base_url + URL, data=body, headers=otlp_headers(), timeout=30)
            release.set()
            holder.join(10)
            retried = requests.post(base_url + URL, data=body, headers=otlp_headers(), timeout=30)
    finally:
        release.set()
        holder.join(10)

    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    assert retried.status_code == 200
    assert Trace.objects.get(trace_id=spans[0].trace_id).span_count == 4

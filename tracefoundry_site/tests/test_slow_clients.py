"""Slow clients cannot starve the web server: 200 connections silent or dribbling headers or bodies leave the API
and OTLP answering within a second, and each of them is cut off by the header or body deadline."""

import selectors
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests
from django.contrib.auth.models import User
from django.db import connection
from google.rpc.status_pb2 import Status
from rest_framework.authtoken.models import Token

from testing.factories import agent_trace, export_request
from testing.servers import database_url, web_server

HEADER_TIMEOUT_S = 2.0
BODY_TIMEOUT_S = 3.0
# Time the server may take beyond a deadline to close the connection, on a shared 2-core machine.
MARGIN_S = 1.5
DRIBBLE_EVERY_S = 0.25
SLOW_CONNECTIONS_PER_KIND = {"silent": 50, "headers": 50, "content-length body": 50, "chunked body": 50}

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class SlowClient:
    kind: str
    sock: socket.socket
    # What is sent at once, then what is dribbled one byte per tick (never all of it).
    head: bytes
    dribble: bytes
    opened: float
    sent: int = 0
    closed_after: float | None = None
    answer: bytearray = field(default_factory=bytearray)


def slow_request(kind: str, port: int) -> tuple[bytes, bytes]:
    host = f"Host: 127.0.0.1:{port}\r\n".encode()
    if kind == "silent":
        return b"", b""
    if kind == "headers":
        return b"GET /api/traces HTTP/1.1\r\n" + host, b"X-Slow: " + b"a" * 10_000
    otlp = b"POST /otlp/v1/traces HTTP/1.1\r\n" + host + b"Content-Type: application/x-protobuf\r\n"
    if kind == "content-length body":
        return otlp + b"Content-Length: 100000\r\n\r\n", b"\x0a" * 100_000
    return otlp + b"Transfer-Encoding: chunked\r\n\r\n", b"1\r\nx\r\n" * 100_000


@pytest.fixture
def slow_server(transactional_db: None) -> Iterator[tuple[str, int]]:
    env = {"WEB_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT_S), "WEB_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT_S)}
    with web_server(database_url(connection.settings_dict), workers=2, extra_env=env) as base_url:
        yield base_url, int(base_url.rsplit(":", 1)[1])


def open_slow_clients(port: int, selector: selectors.BaseSelector) -> list[SlowClient]:
    clients = []
    for kind, count in SLOW_CONNECTIONS_PER_KIND.items():
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port))
            head, dribble = slow_request(kind, port)
            sock.sendall(head)
            sock.setblocking(False)
            client = SlowClient(kind, sock, head, dribble, time.monotonic())
            selector.register(sock, selectors.EVENT_READ, client)
            clients.append(client)
    return clients


def dribble_until(clients: list[SlowClient], selector: selectors.BaseSelector, until: float) -> None:
    """Send one more byte on every open connection each tick; note when the server closes one."""
    next_tick = time.monotonic()
    while time.monotonic() < until and any(client.closed_after is None for client in clients):
        for key, _ in selector.select(timeout=max(0.0, min(next_tick, until) - time.monotonic())):
            client: SlowClient = key.data
            try:
                data = client.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            client.answer += data
            if not data:
                client.closed_after = time.monotonic() - client.opened
                selector.unregister(client.sock)
                client.sock.close()
        if time.monotonic() >= next_tick:
            next_tick += DRIBBLE_EVERY_S
            for client in clients:
                if client.closed_after is None:
                    try:
                        client.sock.send(client.dribble[client.sent : client.sent + 1])
                        client.sent += 1
                    except (BlockingIOError, ConnectionResetError, BrokenPipeError):
                        pass  # a reset connection is noticed as closed by the next select


def test_api_and_otlp_answer_within_a_second_while_200_slow_clients_are_cut_off(
    slow_server: tuple[str, int], viewer: User, otlp_headers
) -> None:
    base_url, port = slow_server
    token = Token.objects.create(user=viewer).key
    otlp_body = export_request(agent_trace()).SerializeToString()
    selector = selectors.DefaultSelector()
    clients = open_slow_clients(port, selector)
    assert len(clients) == 200
    dribble_until(clients, selector, time.monotonic() + 0.5)

    api_started = time.monotonic()
    api = requests.get(base_url + "/api/traces", headers={"Authorization": f"Token {token}"}, timeout=5)
    api_seconds = time.monotonic() - api_started
    dribble_until(clients, selector, time.monotonic() + 0.2)
    otlp_started = time.monotonic()
    otlp = requests.post(base_url + "/otlp/v1/traces", data=otlp_body, headers=otlp_headers(), timeout=5)
    otlp_seconds = time.monotonic() - otlp_started
    still_open_during_requests = sum(client.closed_after is None for client in clients)

    dribble_until(clients, selector, time.monotonic() + BODY_TIMEOUT_S + 2 * MARGIN_S + 1)

    assert api.status_code == 200
    assert api_seconds < 1, api_seconds
    assert otlp.status_code == 200, Status.FromString(otlp.content).message
    assert otlp_seconds < 1, otlp_seconds
    assert still_open_during_requests == 200
    deadline = {
        "silent": HEADER_TIMEOUT_S,
        "headers": HEADER_TIMEOUT_S,
        "content-length body": BODY_TIMEOUT_S,
        "chunked body": BODY_TIMEOUT_S,
    }
    late = [(c.kind, c.closed_after) for c in clients if (c.closed_after or 99) > deadline[c.kind] + MARGIN_S]
    early = [(c.kind, c.closed_after) for c in clients if (c.closed_after or 99) < deadline[c.kind] - MARGIN_S]
    assert late == []
    assert early == []
    body_answers = {bytes(c.answer.split(b"\r\n", 1)[0]) for c in clients if c.kind.endswith("body")}
    assert body_answers == {b"HTTP/1.1 408 Request Timeout"}


def test_a_body_declared_over_the_largest_limit_is_refused_before_it_is_sent(slow_server: tuple[str, int]) -> None:
    _, port = slow_server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        head, _ = slow_request("content-length body", port)
        sock.sendall(head.replace(b"Content-Length: 100000", b"Content-Length: 1000000000"))
        answer = b""
        while chunk := sock.recv(65536):  # until the server closes the connection
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 Payload Too Large\r\n")
    assert answer.endswith(b"request body of 1000000000 bytes is over the limit of 105906176 bytes\n")

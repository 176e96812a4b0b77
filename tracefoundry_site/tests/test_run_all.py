"""`make run`'s process script: the web server, the OTLP/gRPC server, the Celery worker and beat start together
(embedded broker, no server), and Ctrl-C (SIGINT to the foreground process group) stops every one of them."""

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from django.db import connection

from testing.servers import database_url, free_port

ROOT = Path(__file__).resolve().parents[2]


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        for child in (task / "children").read_text().split():
            found |= {int(child)} | descendants(int(child))
    return found


def alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    # A zombie has exited; only its exit status is left for a parent to collect.
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(condition: Callable[[], bool], seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.25)


def listens(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:  # refused, or accepted while the web server's worker still boots
        return False


@pytest.mark.django_db(transaction=True)
def test_starts_web_grpc_worker_and_beat_and_ctrl_c_stops_them_all(tmp_path: Path) -> None:
    port, grpc_port = free_port(), free_port()
    log = tmp_path / "run.log"
    env = {
        **os.environ,
        "SECRET_KEY": "test",
        "DEBUG": "0",
        "DATABASE_URL": database_url(connection.settings_dict),
        "VAR_DIR": str(tmp_path),
        "REDIS_URL": "",
        "GRPC_PORT": str(grpc_port),
    }
    with log.open("wb") as out:
        script = subprocess.Popen(
            [str(ROOT / "scripts" / "run_all.sh"), "127.0.0.1", str(port), "1"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until(lambda: answers(f"http://127.0.0.1:{port}/accounts/login/"), 60, log)
            wait_until(lambda: "ready." in log.read_text() and "beat: Starting" in log.read_text(), 60, log)
            wait_until(lambda: listens(grpc_port), 60, log)
            started = descendants(script.pid)

            os.killpg(script.pid, signal.SIGINT)
            status = script.wait(timeout=60)
        finally:
            if script.poll() is None:
                os.killpg(script.pid, signal.SIGKILL)

    assert len(started) >= 4  # web server main process and worker, the gRPC server, celery worker (beat inside it)
    assert status != 0
    wait_until(lambda: not any(alive(pid) for pid in started), 30, log)
    assert not answers(f"http://127.0.0.1:{port}/accounts/login/")
    assert not listens(grpc_port)

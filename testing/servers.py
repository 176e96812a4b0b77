"""Run the project under its web server (Granian, `python -m tracefoundry_site.serve`), as production does,
against the test database."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

PROJECT_DIR = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_url(settings_dict: dict[str, Any]) -> str:
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


@contextmanager
def web_server(db_url: str, workers: int = 2, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Serve on a free loopback port; yield the base URL; stop the server on exit."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SECRET_KEY": os.environ.get("SECRET_KEY", "test"),
        "DEBUG": "0",
        **(extra_env or {}),
    }
    command = [
        sys.executable,
        "-m",
        "tracefoundry_site.serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=PROJECT_DIR, env=env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base_url + "/accounts/login/", process)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until_serving(url: str, process: subprocess.Popen[bytes]) -> None:
    """Wait until `url` answers at all (any status), or fail if the process exits or 30 s pass."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server process exited with {process.returncode}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on {url} within 30 s")


@contextmanager
def grpc_server(db_url: str, extra_env: dict[str, str] | None = None) -> Iterator[int]:
    """`manage.py serve_otlp_grpc` on a free loopback port; yield the port; stop the server on exit."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SECRET_KEY": os.environ.get("SECRET_KEY", "test"),
        "DEBUG": "0",
        **(extra_env or {}),
    }
    command = [sys.executable, "manage.py", "serve_otlp_grpc", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, cwd=PROJECT_DIR, env=env)
    try:
        wait_until_listening(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    """Wait until something accepts connections on the loopback port, or fail if the process exits or 30 s pass."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server process exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listened on port {port} within 30 s")

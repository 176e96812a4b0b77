"""`make export-trace` (scripts/export_trace.py) against a live server, with an API token."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from bundles.tests.factories import manifest_of, store_trace
from testing.factories import agent_trace

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def _make(*variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", "export-trace", f"PYTHON={sys.executable}", *variables],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_make_export_trace_saves_the_bundle(live_server, engineer: User, tmp_path: Path) -> None:
    trace_id = store_trace(agent_trace())
    token = Token.objects.create(user=engineer).key
    output = tmp_path / "bundle.zip"

    result = _make(
        f"TRACE_ID={trace_id}",
        f"URL={live_server.url}",
        f"TOKEN={token}",
        "REDACTION=standard",
        "PAYLOADS=1",
        f"OUT={output}",
    )

    assert result.returncode == 0, result.stderr
    assert f"Saved {output}" in result.stdout
    assert token not in result.stdout + result.stderr
    manifest = manifest_of(output.read_bytes())
    assert (manifest["trace_id"], manifest["redaction"], manifest["payloads_included"]) == (
        trace_id,
        "standard",
        True,
    )


def test_make_export_trace_reports_a_refusal(live_server, viewer: User, tmp_path: Path) -> None:
    trace_id = store_trace(agent_trace())
    token = Token.objects.create(user=viewer).key

    result = _make(
        f"TRACE_ID={trace_id}",
        f"URL={live_server.url}",
        f"TOKEN={token}",
        "PAYLOADS=1",
        "REDACTION=standard",
        f"OUT={tmp_path / 'never.zip'}",
    )

    assert result.returncode != 0
    assert "Export refused: HTTP 403" in result.stderr
    assert not (tmp_path / "never.zip").exists()


def test_make_export_trace_needs_a_trace_id() -> None:
    result = _make()

    assert result.returncode != 0
    assert "usage: make export-trace TRACE_ID=<trace id>" in result.stdout

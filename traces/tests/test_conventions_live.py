"""Real LLM client libraries, a real OpenAI-compatible server, a live TraceFoundry: content never reaches viewers.

For each library (installed from the package registries; see `testing/conventions/`), a subprocess runs
the library's scenario against the OpenAI-compatible test server and exports with the library's own OTLP/HTTP
exporter to TraceFoundry under its production web server (the exporters stream chunked bodies). Every
prompt, completion, tool argument, tool result and embedding input carries a fresh marker. Then:
- a viewer finds the marker in no API answer (trace list, `q=` search, trace detail, spans, span detail,
  facets) and in no file of the strict bundle export, and gets 403 for every payload ref;
- an engineer reads every marked text of the library's golden capture through the payload refs;
- the trace summaries count the model, tokens, tool calls and errors that mapping the golden gives.

The Vercel AI SDK runs on Node (`testing/vercel_ai`, `npm ci` done by `make test`); Google ADK and traceloop-sdk
in venvs of their own (`testing/library_venvs.py`, made by `make test-sqlite`/`test-postgres`), and are skipped,
saying so, only where those venvs were not made. The Langfuse SDK is
handed the standard OTLP exporter (`LANGFUSE_VIA_OTLP`), as its own endpoint is not what is tested here.
"""

import io
import json
import os
import re
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.authtoken.models import Token

from testing.goldens import LIBRARIES, MARKED, MARKER, received, status_code
from testing.library_venvs import python_of
from testing.openai_compatible_server import serving
from testing.servers import database_url, web_server
from traces.models import SpanCategory, Trace
from traces.semconv import map_span

TESTING = Path(settings.BASE_DIR) / "testing"
RUN_TIMEOUT_S = 240

pytestmark = pytest.mark.django_db(transaction=True)

# The user each scenario names (run_library.py, vercel_ai.mjs), as the traces' summaries must show it: every trace
# of the run has it, or none does. ADK names its user on log records only, not on spans.
USERS = {"langfuse": "user-live-1", "traceloop-sdk": "user-live-1", "vercel-ai": "user-live-1"}


@pytest.fixture(scope="module")
def llm_url() -> Iterator[str]:
    with serving() as url:
        yield url


@pytest.fixture
def server_url(transactional_db: None, tmp_path: Path) -> Iterator[str]:
    env = {"PAYLOAD_STORAGE": "filesystem", "PAYLOAD_DIR": str(tmp_path / "payloads"), "VAR_DIR": str(tmp_path / "var")}
    with web_server(database_url(connection.settings_dict), extra_env=env) as url:
        yield url


def run_library(library: str, llm_url: str, server_url: str, ingest_key: str, marker: str) -> None:
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "LANGFUSE_"))},
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{server_url}/otlp/v1/traces",
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": f"{server_url}/otlp/v1/logs",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS": f"Authorization=Bearer%20{ingest_key}",
        "OTEL_EXPORTER_OTLP_LOGS_HEADERS": f"Authorization=Bearer%20{ingest_key}",
        "LANGFUSE_VIA_OTLP": "1",
    }
    python = python_of(library)
    if python is not None and not python.exists():
        folder = python.parents[2].relative_to(TESTING.parent)
        pytest.skip(f"{folder}/.venv is missing: `make test-sqlite` creates it from {folder}/requirements.txt")
    if library == "vercel-ai":
        command = ["node", str(TESTING / "vercel_ai" / "vercel_ai.mjs"), llm_url, marker]
    else:
        script = str(TESTING / "conventions" / "run_library.py")
        command = [str(python or sys.executable), script, library, llm_url, marker]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-8000:]


def golden_texts(library: str, marker: str) -> set[str]:
    """The marked texts the library put on its spans when recorded, with this run's marker."""
    spans = [record for record in received(library) if record["signal"] == "span"]
    return {text.replace(MARKER, marker) for text in MARKED.findall(json.dumps(spans))}


def golden_summary(library: str) -> dict[str, object]:
    """What mapping the golden capture's spans gives, summed as the trace summaries sum it."""
    spans = [record for record in received(library) if record["signal"] == "span"]
    codes = [status_code(span) for span in spans]
    meanings = [
        map_span(span["name"], span["attributes"], span["events"], code, span["status"].get("message", ""))
        for span, code in zip(spans, codes, strict=True)
    ]
    counted = [m for m in meanings if m.category in (SpanCategory.LLM, SpanCategory.EMBEDDING)]
    return {
        "llm_calls": sum(1 for m in meanings if m.category == SpanCategory.LLM),
        "tool_calls": sum(1 for m in meanings if m.category == SpanCategory.TOOL),
        "input_tokens": sum(m.input_tokens for m in counted),
        "output_tokens": sum(m.output_tokens for m in counted),
        "models": sorted({m.model for m in meanings if m.model}),
        "tools": sorted({m.tool_name for m in meanings if m.tool_name}),
        "errors": codes.count(2),
    }


def live_summary() -> dict[str, object]:
    traces = list(Trace.objects.all())
    return {
        "llm_calls": sum(trace.llm_call_count for trace in traces),
        "tool_calls": sum(trace.tool_call_count for trace in traces),
        "input_tokens": sum(trace.input_tokens for trace in traces),
        "output_tokens": sum(trace.output_tokens for trace in traces),
        "models": sorted({model for trace in traces for model in trace.models_used}),
        "tools": sorted({tool for trace in traces for tool in trace.tools_used}),
        "errors": sum(trace.error_count for trace in traces),
    }


class Api:
    def __init__(self, base_url: str, user: User) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {Token.objects.create(user=user).key}"

    def get(self, path: str, **params: str) -> requests.Response:
        response = self.session.get(self.base_url + path, params=params, timeout=30)
        assert response.status_code in (200, 403), (path, response.status_code, response.text[:500])
        return response


def everything_a_viewer_reads(api: Api, marker: str) -> tuple[str, list[str]]:
    """Every API answer a viewer gets about the stored traces, their strict bundles, and the refs they show."""
    answers = [api.get("/api/traces").text, api.get("/api/traces", q=marker).text, api.get("/api/facets").text]
    refs: list[str] = []
    for trace_id in Trace.objects.values_list("trace_id", flat=True):
        answers.append(api.get(f"/api/traces/{trace_id}").text)
        spans = api.get(f"/api/traces/{trace_id}/spans")
        answers.append(spans.text)
        for span in spans.json()["items"]:
            detail = api.get(f"/api/spans/{span['span_id']}", trace_id=trace_id)
            answers.append(detail.text)
            refs += [ref["ref"] for ref in detail.json()["payload_refs"]]
        bundle = api.session.post(f"{api.base_url}/api/traces/{trace_id}/export", json={}, timeout=60)
        assert bundle.status_code == 200, bundle.text[:500]
        with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
            answers += [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]
    return "\n".join(answers), refs


@pytest.mark.parametrize("library", LIBRARIES)
def test_library_content_is_kept_from_viewers_and_readable_by_engineers(
    library: str, llm_url: str, server_url: str, ingest_key: str, viewer: User, engineer: User
) -> None:
    assert settings.REDACTION_MODE == "standard"
    marker = uuid.uuid4().hex[:12]
    run_library(library, llm_url, server_url, ingest_key, marker)

    viewer_api = Api(server_url, viewer)
    seen, refs = everything_a_viewer_reads(viewer_api, marker)
    engineer_api = Api(server_url, engineer)
    payloads = "\n".join(engineer_api.get(f"/api/payloads/{ref}").text for ref in sorted(set(refs)))

    assert Trace.objects.exists()
    assert viewer_api.get("/api/traces", q=marker).json()["items"] == []
    assert marker not in seen
    assert {viewer_api.get(f"/api/payloads/{ref}").status_code for ref in refs} <= {403}
    assert golden_texts(library, marker) <= set(re.findall(rf"[a-z]+-{marker}", payloads))
    assert live_summary() == golden_summary(library)
    assert set(Trace.objects.values_list("user_id", flat=True)) == {USERS.get(library, "")}
    assert {item["user_id"] for item in viewer_api.get("/api/traces").json()["items"]} == {USERS.get(library, "")}


def test_the_golden_captures_cover_every_library() -> None:
    assert set(LIBRARIES) >= {
        "google-adk",
        "langfuse",
        "logfire",
        "mlflow",
        "openinference-langchain",
        "openinference-openai",
        "openllmetry",
        "otel-genai-event",
        "otel-genai-span",
        "pydantic-ai",
        "traceloop-sdk",
        "vercel-ai",
    }
    assert all(golden_texts(library, "m") for library in set(LIBRARIES) - {"otel-genai-event", "otel-genai-legacy"})

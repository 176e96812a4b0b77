"""The TypeScript SDK (`sdk/typescript`) against a live TraceFoundry, and its redaction against the server's.

The OpenTelemetry JS exporter streams its request body (chunked transfer encoding), which Django's test
server (wsgiref) cannot read, so the server here is the production one (Granian, tracefoundry_site/serve.py),
started on a free port of 127.0.0.1 with the test database (a file for SQLite, the `test_*` database for
Postgres; transactional tests, so what the fixtures write is committed and visible to it). A Python tool
service (OpenTelemetry Python SDK, W3C propagation) answers the TypeScript agent's tool call. The node live
test checks the trace through the API; this module then checks the rows it left. Needs `npm ci` in
sdk/typescript (done by `make test`).
"""

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.authtoken.models import Token

from payloads import refs as payload_refs
from payloads.contracts import RedactionMode
from payloads.models import SpanPayloadRef
from payloads.policy import load_policy
from payloads.redaction import Redactor
from testing.servers import database_url, web_server
from traces.models import Span, Trace

SDK_DIR = Path(settings.BASE_DIR) / "sdk" / "typescript"
TOOL_SERVICE = Path(__file__).with_name("python_tool_service.py")
NODE_TIMEOUT_S = 240

# Committed writes, so the server process sees the fixtures' rows. The flush that ends each test emits
# post_migrate, which recreates the role groups for the tests after it.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def sdk_built() -> Path:
    """The SDK and its tests compiled (tsc), once for this module."""
    npm = shutil.which("npm")
    assert npm is not None, "npm is needed (Node 20 + npm; `make test` runs npm ci first)"
    for script in ("build", "build:test"):
        subprocess.run([npm, "run", "--silent", script], cwd=SDK_DIR, check=True, timeout=NODE_TIMEOUT_S)
    return SDK_DIR


@pytest.fixture
def server_url(transactional_db: None, tmp_path: Path) -> Iterator[str]:
    env = {
        "PAYLOAD_STORAGE": "filesystem",
        "PAYLOAD_DIR": str(tmp_path / "payloads"),
        "VAR_DIR": str(tmp_path / "var"),
    }
    with web_server(database_url(connection.settings_dict), extra_env=env) as url:
        yield url


@pytest.fixture
def tool_service_url(server_url: str, ingest_key: str) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, str(TOOL_SERVICE), server_url, ingest_key], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_typescript_agent_trace_crosses_into_python_and_is_stored(
    sdk_built: Path, server_url: str, tool_service_url: str, ingest_key: str, engineer: User, tmp_path: Path
) -> None:
    result_file = tmp_path / "live-result.json"
    env = {
        **os.environ,
        "TRACEFOUNDRY_URL": server_url,
        "TRACEFOUNDRY_INGEST_KEY": ingest_key,
        # A DRF token: the tests' fast password hasher is unknown to the server process.
        "TRACEFOUNDRY_API_TOKEN": Token.objects.create(user=engineer).key,
        "PYTHON_TOOL_SERVICE_URL": tool_service_url,
        "TRACEFOUNDRY_LIVE_RESULT": str(result_file),
    }
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SERVICE_NAME"):
        env.pop(name, None)
    node = subprocess.run(
        ["node", "--test", "build-test/test/live/live.test.js"],
        cwd=sdk_built,
        env=env,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
    )
    assert node.returncode == 0, node.stdout[-8000:] + node.stderr[-4000:]
    result = json.loads(result_file.read_text())

    trace = Trace.objects.get(trace_id=result["example_trace_id"])
    assert (trace.service, trace.environment, trace.span_count) == ("ts-example-agent", "live-test", 5)
    assert (trace.llm_call_count, trace.tool_call_count, trace.retry_count, trace.orphan_count) == (
        1,
        2,
        1,
        0,
    )
    assert trace.tools_used == ["lookup_order"]
    spans = {span.span_id: span for span in Span.objects.filter(trace_id=trace.trace_id)}
    python_server = spans[result["py_server_span_id"]]
    assert python_server.service == "py-tool-service"
    assert python_server.parent_span_id == result["ts_tool_span_id"]
    assert spans[result["ts_tool_span_id"]].service == "ts-example-agent"
    chat = spans[result["chat_span_id"]]
    assert (chat.model, chat.provider, chat.input_tokens, chat.output_tokens) == (
        "gpt-4o-mini-2024-07-18",
        "openai",
        40,
        12,
    )
    # No content on any span: only refs and sizes.
    assert "shipped" not in json.dumps(
        [span.attributes for span in spans.values() if span.service == "ts-example-agent"]
    )

    refs = SpanPayloadRef.objects.filter(span__trace_id=result["inprocess_trace_id"]).select_related("blob")
    assert sorted(ref.blob.sha256 for ref in refs) == sorted(
        payload_refs.parse_ref(ref) for ref in result["inprocess_refs"]
    )
    assert {ref.role for ref in refs} == {"input", "output"}


REDACTION_SAMPLES = [
    "token Bearer abcdefghijklmnop.qrs and BEARER zyxwvutsrqponm",
    "Authorization: Basic dXNlcjpwYXNzd29yZA==",
    "db postgres://app:hunter2hunter2@db:5432/x, api_key='sk-proj-abcdefghijklmnopqrstuvwx'",
    '{"password": "s3cr3t-value", "refresh-token": "r3fr3shr3fr3sh"}',
    "card 4111 1111 1111 1111, not a card 4111 1111 1111 1112, é4111111111111111",
    "AKIAABCDEFGHIJKLMNOP ghp_abcdefghijklmnopqrstuvwxyz0123456789 eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.sig",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n",
    "mail ada@example.com, call +44 20 7946 0958 or (555) 123-4567, ssn 123-45-6789",
    "Dotted \u0130nfo: PASSWORD=\u0131keepsecret and Kelvin \u212a; \ufb01le \u017fecret=abcdefgh",
    "sk-ant-api03-abcdefghijklmnopqrstuvwxyz and x-sk-ant-notakeyatallreally",
]


@pytest.mark.parametrize("mode", ["standard", "strict"])
def test_typescript_redaction_matches_the_server(sdk_built: Path, mode: str) -> None:
    script = (
        "import { buildRedactor } from './dist/index.js';"
        "const [mode, policy, samples] = JSON.parse(process.argv[1]);"
        "const redactor = buildRedactor(mode, policy);"
        "console.log(JSON.stringify(samples.map((text) => redactor.redact(text).text)));"
    )
    policy_file = settings.TRACE_ALLOWLIST_FILE
    node = subprocess.run(
        [
            "node",
            "--input-type=module",
            "-e",
            script,
            json.dumps([mode, str(policy_file), REDACTION_SAMPLES]),
        ],
        cwd=sdk_built,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    server = Redactor(load_policy(Path(policy_file)), RedactionMode(mode))
    assert json.loads(node.stdout) == [server.text(text) for text in REDACTION_SAMPLES]

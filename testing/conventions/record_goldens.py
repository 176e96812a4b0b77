"""Record what each library's installed release sends, into `golden/<library>.json` (run by hand to refresh).

    .venv/bin/python testing/conventions/record_goldens.py [LIBRARY ...]

Starts the OpenAI-compatible test server and a loopback OTLP/HTTP receiver, runs `run_library.py` for each
library (under the library's own venv for those in `testing/library_venvs.py`, which `make test-sqlite` creates;
`node vercel_ai.mjs` for the Vercel AI SDK) and writes every span and log record it received:
name, attributes and events, with the request path and the authorization scheme. The marker is fixed
(`golden`) so the files are stable apart from ids and times, which are left out.
"""

import gzip
import json
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

HERE = Path(__file__).resolve().parent
# Run as a script: the project root on the path, for the test server module.
sys.path.insert(0, str(HERE.parents[1]))
from testing.library_venvs import python_of  # noqa: E402
from testing.openai_compatible_server import serving  # noqa: E402

MARKER = "golden"
CHECKOUT = "/srv/app"
# The packages whose versions a golden file names.
PACKAGES = {
    "otel-genai-span": ["opentelemetry-instrumentation-openai-v2", "opentelemetry-util-genai"],
    "otel-genai-event": ["opentelemetry-instrumentation-openai-v2", "opentelemetry-util-genai"],
    "otel-genai-legacy": ["opentelemetry-instrumentation-openai-v2", "opentelemetry-util-genai"],
    "openinference-openai": ["openinference-instrumentation-openai"],
    "openinference-langchain": ["openinference-instrumentation-langchain", "langchain-core", "langchain-openai"],
    "openllmetry": ["opentelemetry-instrumentation-openai"],
    "langfuse": ["langfuse"],
    "mlflow": ["mlflow-tracing"],
    "pydantic-ai": ["pydantic-ai-slim"],
    "logfire": ["logfire"],
    "google-adk": ["google-adk", "litellm"],
    "traceloop-sdk": ["traceloop-sdk", "opentelemetry-instrumentation-openai"],
}
NODE_PACKAGES = ["ai", "@ai-sdk/openai"]


def _value(value: dict[str, Any]) -> Any:
    if "arrayValue" in value:
        return [_value(item) for item in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return {item["key"]: _value(item.get("value", {})) for item in value["kvlistValue"].get("values", [])}
    if "intValue" in value:
        return int(value["intValue"])
    return next(iter(value.values()), None)


def _attributes(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {item["key"]: _value(item.get("value", {})) for item in items}


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        self.rfile.readline()
        return b"".join(chunks)

    def do_POST(self) -> None:
        body = self._body()
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        logs = self.path.endswith("/logs")
        if self.headers.get("Content-Type", "").startswith("application/json"):
            decoded = json.loads(body)
        else:
            message = ExportLogsServiceRequest() if logs else ExportTraceServiceRequest()
            message.ParseFromString(body)
            decoded = MessageToDict(message)
        scheme = (self.headers.get("Authorization") or "none").split(" ")[0]
        if logs:
            for resource in decoded.get("resourceLogs", []):
                for scope in resource.get("scopeLogs", []):
                    for record in scope.get("logRecords", []):
                        self.received.append(
                            {
                                "signal": "log",
                                "path": self.path,
                                "auth": scheme,
                                "event_name": record.get("eventName", ""),
                                "body": _value(record.get("body", {})),
                                "attributes": _attributes(record.get("attributes", [])),
                                "has_span_context": bool(record.get("spanId")),
                            }
                        )
        else:
            for resource in decoded.get("resourceSpans", []):
                for scope in resource.get("scopeSpans", []):
                    for span in scope.get("spans", []):
                        self.received.append(
                            {
                                "signal": "span",
                                "path": self.path,
                                "auth": scheme,
                                "scope": scope.get("scope", {}).get("name", ""),
                                "name": span.get("name", ""),
                                "status": span.get("status", {}),
                                "attributes": _attributes(span.get("attributes", [])),
                                "events": [
                                    {
                                        "name": event.get("name", ""),
                                        "attributes": _attributes(event.get("attributes", [])),
                                    }
                                    for event in span.get("events", [])
                                ],
                            }
                        )
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()


@contextmanager
def receiving() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _node_versions() -> dict[str, str]:
    lock = json.loads((HERE.parent / "vercel_ai" / "package-lock.json").read_text())
    return {name: lock["packages"][f"node_modules/{name}"]["version"] for name in NODE_PACKAGES}


def _versions(python: str, packages: list[str]) -> dict[str, str]:
    """The installed versions of `packages` in the venv of `python`."""
    if python == sys.executable:
        return {package: metadata.version(package) for package in packages}
    script = (
        "import json, sys\nfrom importlib import metadata\n"
        "print(json.dumps({p: metadata.version(p) for p in sys.argv[1:]}))"
    )
    done = subprocess.run([python, "-c", script, *packages], check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout))


def record(name: str, llm_url: str, otlp_url: str) -> dict[str, Any]:
    _Receiver.received = []
    env = {
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{otlp_url}/v1/traces",
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": f"{otlp_url}/v1/logs",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "Authorization=Bearer%20golden",
        "OTEL_EXPORTER_OTLP_LOGS_HEADERS": "Authorization=Bearer%20golden",
        "LANGFUSE_HOST": otlp_url,
        "HOME": tempfile.mkdtemp(prefix="golden-home-"),
    }
    if name == "vercel-ai":
        command = ["node", str(HERE.parent / "vercel_ai" / "vercel_ai.mjs"), llm_url, MARKER]
        versions = _node_versions()
    else:
        python = str(python_of(name) or sys.executable)
        command = [python, str(HERE / "run_library.py"), name, llm_url, MARKER]
        versions = _versions(python, PACKAGES[name])
    subprocess.run(command, env=env, check=True, timeout=300)
    return {"library": name, "versions": versions, "received": list(_Receiver.received)}


def main(names: list[str]) -> None:
    golden = HERE / "golden"
    golden.mkdir(exist_ok=True)
    with serving() as llm_url, receiving() as otlp_url:
        for name in names or [*PACKAGES, "vercel-ai"]:
            capture = record(name, llm_url, otlp_url)
            text = json.dumps(capture, indent=1, sort_keys=True) + "\n"
            # Stack traces name the checkout's folder: the files are the same wherever it is.
            (golden / f"{name}.json").write_text(text.replace(str(HERE.parents[1]), CHECKOUT))
            print(name, len(capture["received"]), "records")


if __name__ == "__main__":
    main(sys.argv[1:])

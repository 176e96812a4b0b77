"""A Python HTTP tool gateway for the TypeScript SDK's live test: it continues the caller's W3C trace.

Run as `python python_tool_service.py <tracefoundry_url> <ingest_key>`. It listens on a free port of
127.0.0.1, prints its base URL on the first line of stdout, and serves `POST /tools/<name>` with a JSON body
`{"tool", "arguments", "call_id"}` (the TypeScript SDK's `callToolGateway`). Each request opens a SERVER span
from the incoming `traceparent` and an `execute_tool <name>` span under it, exported with the OpenTelemetry
Python SDK to TraceFoundry before the answer is sent (SimpleSpanProcessor), so a client that has its answer
can look the spans up at once. Stopped by the test (SIGTERM).
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

SERVICE_NAME = "py-tool-service"
ORDERS = {1042: {"status": "shipped", "eta_days": 2}}


def _tracer(url: str, ingest_key: str) -> trace.Tracer:
    provider = TracerProvider(
        resource=Resource.create({"service.name": SERVICE_NAME, "deployment.environment.name": "live-test"})
    )
    exporter = OTLPSpanExporter(
        endpoint=f"{url.rstrip('/')}/otlp/v1/traces", headers={"Authorization": f"Bearer {ingest_key}"}
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("python-tool-service")


def _run_tool(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    if name != "lookup_order":
        raise KeyError(name)
    order_id = int(arguments.get("order_id", 0))
    return {"order_id": order_id, **ORDERS.get(order_id, {"status": "unknown"})}


def make_handler(tracer: trace.Tracer) -> type[BaseHTTPRequestHandler]:
    class ToolHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            # The caller's `traceparent` makes our spans children of its tool-call span.
            parent = propagate.extract(self.headers)
            with tracer.start_as_current_span(
                f"POST {self.path}",
                context=parent,
                kind=trace.SpanKind.SERVER,
                attributes={"http.request.method": "POST", "url.path": self.path},
            ) as server_span:
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                name = str(request.get("tool", ""))
                with tracer.start_as_current_span(
                    f"execute_tool {name}",
                    attributes={
                        "gen_ai.operation.name": "execute_tool",
                        "gen_ai.tool.name": name,
                        "gen_ai.tool.call.id": str(request.get("call_id") or ""),
                    },
                ):
                    result = _run_tool(name, request.get("arguments") or {})
                body = json.dumps(result).encode()
                server_span.set_attribute("http.response.status_code", 200)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # silence per-request logging
            return

    return ToolHandler


def main() -> None:
    url, ingest_key = sys.argv[1], sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(_tracer(url, ingest_key)))
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

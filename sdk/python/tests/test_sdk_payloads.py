"""Payload capture: redaction before hashing, refs that match the stored bytes, offline files, uploads
that are retried in the background and never break the agent."""

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import tracefoundry
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tracefoundry.payloads import PayloadUploader


def attrs(item: ReadableSpan | Event) -> dict[str, Any]:
    """A span's or event's attributes as a plain dict (the SDK types them as optional)."""
    return dict(item.attributes or {})


OPENAI_KEY = "sk-proj-" + "A1b2C3d4" * 5
PROMPT = f"Summarise the incident. My key is {OPENAI_KEY}; mail me at jane.doe@example.com"
REDACTED_PROMPT = "Summarise the incident. My key is [REDACTED:openai_api_key]; mail me at jane.doe@example.com"


class PayloadServer:
    """A loopback stand-in for `POST /api/payloads` that answers the first `failures` requests with 503."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[tuple[bytes, dict[str, str]]] = []
        received, owner = self.received, self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if owner.failures > 0:
                    owner.failures -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                received.append((body, dict(self.headers)))
                digest = hashlib.sha256(body).hexdigest()
                answer = json.dumps({"ref": f"sha256:{digest}", "sha256": digest}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "PayloadServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def payload_server() -> Iterator[PayloadServer]:
    with PayloadServer() as server:
        yield server


def test_offline_mode_writes_redacted_payloads_whose_hash_is_the_span_ref(
    configured: Callable[..., tracefoundry.Client], exporter: InMemorySpanExporter, tmp_path: Path
) -> None:
    configured(payload_dir=str(tmp_path))
    messages = [{"role": "user", "content": PROMPT}]
    with tracefoundry.trace_agent_run("support", input=PROMPT) as run:
        with tracefoundry.llm_call("gpt-4o-mini", messages=messages) as call:
            call.set_response("Done.", input_tokens=5, output_tokens=1)
        run.record_output({"answer": "Done.", "sources": []})
    spans = {span.name: span for span in exporter.get_finished_spans()}
    root, llm = spans["invoke_agent support"], spans["chat gpt-4o-mini"]
    input_ref = attrs(root)["tracefoundry.payload.input_ref"]
    stored = (tmp_path / input_ref.removeprefix("sha256:")).read_bytes()
    assert stored == REDACTED_PROMPT.encode()
    assert input_ref == "sha256:" + hashlib.sha256(REDACTED_PROMPT.encode()).hexdigest()
    assert attrs(root)["tracefoundry.payload.input_size"] == len(stored)
    messages_ref = attrs(llm)["tracefoundry.payload.input_ref"]
    messages_file = (tmp_path / messages_ref.removeprefix("sha256:")).read_bytes()
    assert json.loads(messages_file) == [{"role": "user", "content": REDACTED_PROMPT}]
    assert hashlib.sha256(messages_file).hexdigest() == messages_ref.removeprefix("sha256:")
    meta = json.loads((tmp_path / f"{messages_ref.removeprefix('sha256:')}.json").read_text())
    assert meta["content_type"] == "application/json"
    assert meta["redaction_mode"] == "standard"
    output_file = tmp_path / attrs(root)["tracefoundry.payload.output_ref"].removeprefix("sha256:")
    assert json.loads(output_file.read_bytes()) == {"answer": "Done.", "sources": []}
    # Content never rides in span attributes.
    every_value = json.dumps([attrs(span) for span in spans.values()])
    assert OPENAI_KEY not in every_value
    assert "Summarise the incident" not in every_value
    assert not any(OPENAI_KEY in path.read_text(errors="replace") for path in tmp_path.iterdir())
    assert tracefoundry.payload_stats().written == 4


def test_strict_mode_masks_personal_data_and_off_masks_nothing(
    configured: Callable[..., tracefoundry.Client], exporter: InMemorySpanExporter, tmp_path: Path
) -> None:
    configured(payload_dir=str(tmp_path / "strict"), redaction_mode="strict")
    with tracefoundry.trace_agent_run("s", input=PROMPT):
        pass
    configured(payload_dir=str(tmp_path / "off"), redaction_mode="off")
    with tracefoundry.trace_agent_run("o", input=PROMPT):
        pass
    [strict_file] = [p for p in (tmp_path / "strict").iterdir() if not p.name.endswith(".json")]
    [off_file] = [p for p in (tmp_path / "off").iterdir() if not p.name.endswith(".json")]
    assert strict_file.read_text() == (
        "Summarise the incident. My key is [REDACTED:openai_api_key]; mail me at [REDACTED:email]"
    )
    assert off_file.read_text() == PROMPT


def test_uploads_carry_the_redacted_bytes_and_the_ingest_key(
    configured: Callable[..., tracefoundry.Client],
    exporter: InMemorySpanExporter,
    payload_server: PayloadServer,
) -> None:
    configured(url=payload_server.url, ingest_key="tfi_test-key")
    with tracefoundry.tool_call("search", arguments={"q": PROMPT}) as tool:
        tool.set_result("plain text result")
    assert tracefoundry.flush(10)
    [span] = exporter.get_finished_spans()
    bodies = {hashlib.sha256(body).hexdigest(): (body, headers) for body, headers in payload_server.received}
    args_body, args_headers = bodies[attrs(span)["tracefoundry.payload.tool_args_ref"].removeprefix("sha256:")]
    assert json.loads(args_body) == {"q": REDACTED_PROMPT}
    assert args_headers["Authorization"] == "Bearer tfi_test-key"
    assert args_headers["Content-Type"] == "application/json"
    assert args_headers["X-TraceFoundry-Redaction"] == "standard"
    result_body, result_headers = bodies[attrs(span)["tracefoundry.payload.tool_result_ref"][7:]]
    assert (result_body, result_headers["Content-Type"]) == (
        b"plain text result",
        "text/plain; charset=utf-8",
    )
    stats = tracefoundry.payload_stats()
    assert (stats.queued, stats.uploaded, stats.failed, stats.mismatched, stats.pending) == (2, 2, 0, 0, 0)


def test_failed_uploads_are_retried_in_the_background_and_counted() -> None:
    with PayloadServer(failures=2) as server:
        uploader = PayloadUploader(f"{server.url}/api/payloads", "k", redaction_mode="standard", initial_backoff_s=0.01)
        body = b"hello world"
        ref = "sha256:" + hashlib.sha256(body).hexdigest()
        assert uploader.submit(body, "text/plain; charset=utf-8", ref)
        assert uploader.flush(10)
        uploader.close()
    stats = uploader.stats
    assert (stats.uploaded, stats.retried, stats.failed) == (1, 2, 0)
    assert [received for received, _ in server.received] == [body]


def test_an_unreachable_server_never_breaks_the_agent(
    configured: Callable[..., tracefoundry.Client], exporter: InMemorySpanExporter
) -> None:
    with PayloadServer() as server:
        dead_url = server.url  # closed on leaving the block: nothing listens there any more
    client = configured(url=dead_url, ingest_key="k")
    client.payloads._uploader._initial_backoff_s = 0.01  # type: ignore[union-attr]  # keep the test fast
    with tracefoundry.trace_agent_run("a", input="question"), tracefoundry.llm_call("m") as call:
        call.set_response("answer")
    assert tracefoundry.flush(20)
    stats = tracefoundry.payload_stats()
    assert (stats.queued, stats.uploaded, stats.failed, stats.retried) == (2, 0, 2, 8)
    assert {span.name for span in exporter.get_finished_spans()} == {"invoke_agent a", "chat m"}


def test_a_full_queue_drops_uploads_and_counts_them() -> None:
    with PayloadServer(failures=1000) as server:
        uploader = PayloadUploader(
            f"{server.url}/api/payloads",
            "k",
            redaction_mode="standard",
            max_queue=1,
            workers=1,
            max_attempts=2,
            initial_backoff_s=0.2,
        )
        accepted = [uploader.submit(b"x" * n, "text/plain; charset=utf-8", f"r{n}") for n in range(1, 6)]
        uploader.close(10)
    # The one worker is busy retrying the first upload: at most one more fits in the queue.
    assert accepted[0] is True
    assert uploader.stats.dropped == accepted.count(False) >= 3
    assert uploader.stats.failed == 5 - uploader.stats.dropped


def test_capture_off_records_hashes_and_sizes_only(
    configured: Callable[..., tracefoundry.Client], exporter: InMemorySpanExporter, tmp_path: Path
) -> None:
    configured(capture_payloads=False, payload_dir=str(tmp_path))
    with tracefoundry.trace_agent_run("a", input=PROMPT):
        pass
    [span] = exporter.get_finished_spans()
    assert attrs(span)["tracefoundry.payload_hash.input"] == (
        "sha256:" + hashlib.sha256(REDACTED_PROMPT.encode()).hexdigest()
    )
    assert attrs(span)["tracefoundry.payload.input_size"] == len(REDACTED_PROMPT)
    assert "tracefoundry.payload.input_ref" not in attrs(span)
    assert list(tmp_path.iterdir()) == []

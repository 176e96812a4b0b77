"""The demo agent: deterministic by seed, every scenario visible in its spans, replayable from a recording."""

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import tracefoundry
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from tracefoundry.demo import (
    SCENARIOS,
    RecordedTools,
    Recording,
    ReplayDivergence,
    run_agent,
    structure_from_spans,
)
from tracefoundry.demo.load import endpoints, run_seeds, send_demo_traces


def attrs(item: ReadableSpan | Event) -> dict[str, Any]:
    """A span's or event's attributes as a plain dict (the SDK types them as optional)."""
    return dict(item.attributes or {})


def duration_ns(span: ReadableSpan) -> int:
    return (span.end_time or 0) - (span.start_time or 0)


START = 1_700_000_000_000_000_000


def shape(spans: tuple[ReadableSpan, ...]) -> list[tuple[object, ...]]:
    """Everything about the spans but their timestamps."""
    return [
        (
            s.name,
            s.context.trace_id,
            s.context.span_id,
            s.parent.span_id if s.parent else None,
            s.status.status_code,
            {k: v for k, v in attrs(s).items()},
            [(e.name, attrs(e)) for e in s.events],
            duration_ns(s),
        )
        for s in spans
    ]


def stored_structure(spans: tuple[ReadableSpan, ...]) -> list[str]:
    return structure_from_spans(
        [
            {
                "span_id": s.context.span_id,
                "parent_span_id": s.parent.span_id if s.parent else "",
                "name": s.name,
                "status_code": "error" if s.status.status_code == StatusCode.ERROR else "ok",
                "start_unix_nano": s.start_time,
            }
            for s in spans
        ]
    )


@pytest.mark.parametrize("scenario", [*SCENARIOS, "mix"])
def test_same_seed_gives_the_same_spans_ids_tokens_and_outputs(
    configured: Callable[..., tracefoundry.Client],
    exporter: InMemorySpanExporter,
    scenario: str,
    tmp_path: Path,
) -> None:
    configured(payload_dir=str(tmp_path))
    first = run_agent(scenario, seed=11, start_ns=START)
    first_spans = exporter.get_finished_spans()
    exporter.clear()
    second = run_agent(scenario, seed=11, start_ns=START + 3_600 * 10**9)
    second_spans = exporter.get_finished_spans()
    assert first.to_json() == second.to_json()
    assert shape(first_spans) == shape(second_spans)
    assert (second_spans[0].start_time or 0) - (first_spans[0].start_time or 0) == 3_600 * 10**9
    assert stored_structure(first_spans) == first.structure()
    assert first.trace_id == format(first_spans[0].context.trace_id, "032x")
    other = run_agent(scenario, seed=12, start_ns=START)
    assert other.trace_id != first.trace_id


def test_each_scenario_shows_in_the_spans(
    configured: Callable[..., tracefoundry.Client], exporter: InMemorySpanExporter, tmp_path: Path
) -> None:
    configured(payload_dir=str(tmp_path))
    seen: dict[str, list[ReadableSpan]] = {}
    for scenario in SCENARIOS:
        exporter.clear()
        recording = run_agent(scenario, seed=5, start_ns=START)
        seen[scenario] = list(exporter.get_finished_spans())
        assert recording.scenario == scenario
        root = next(s for s in seen[scenario] if s.parent is None)
        assert root.name == "invoke_agent research-assistant"
        assert attrs(root)["tracefoundry.demo.scenario"] == scenario
        assert attrs(root)["tracefoundry.rollup.input_tokens"] == recording.input_tokens > 0
        assert attrs(root)["tracefoundry.payload.recording_ref"].startswith("sha256:")
        assert duration_ns(root) / 1e6 == pytest.approx(recording.duration_ms)

    def durations_ms(scenario: str, prefix: str) -> list[float]:
        return [duration_ns(s) / 1e6 for s in seen[scenario] if s.name.startswith(prefix)]

    assert max(durations_ms("slow_tool", "execute_tool")) >= 8_000
    assert max(durations_ms("happy", "execute_tool")) < 1_000
    assert sum(attrs(s).get("tracefoundry.retry.count", 0) for s in seen["retry_storm"]) >= 3
    assert all("tracefoundry.retry.count" not in attrs(s) for s in seen["happy"])
    failed = [s for s in seen["llm_error"] if s.status.status_code == StatusCode.ERROR]
    assert sorted(s.name for s in failed) == ["chat claude-3-5-haiku", "invoke_agent research-assistant"]
    timed_out = [s for s in seen["timeout"] if attrs(s).get("tracefoundry.timeout") is True]
    assert [s.name for s in timed_out] == ["execute_tool database_lookup"]
    assert duration_ns(timed_out[0]) / 1e9 == pytest.approx(30.0, abs=0.001)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_replay_from_a_recording_gives_the_same_structure(scenario: str) -> None:
    recording = run_agent(scenario, seed=21)
    as_json = json.loads(json.dumps(recording.to_json()))
    replay = run_agent(scenario, seed=21, tools=RecordedTools.from_recording(Recording.from_json(as_json)))
    assert replay.structure() == recording.structure()
    assert replay.tool_calls == recording.tool_calls
    from_payload = RecordedTools.from_recording(recording.replay_payload())
    assert run_agent(scenario, seed=21, tools=from_payload).structure() == recording.structure()


def test_replay_against_another_runs_recording_diverges() -> None:
    recording = run_agent("happy", seed=1)
    other = next(
        run_agent("happy", seed=s)
        for s in range(2, 50)
        if run_agent("happy", seed=s).tool_calls[0]["tool"] != recording.tool_calls[0]["tool"]
    )
    with pytest.raises(ReplayDivergence):
        run_agent("happy", seed=1, tools=RecordedTools.from_recording(other))


def test_planted_secrets_never_leave_the_sdk_under_standard(
    configured: Callable[..., tracefoundry.Client], exporter: InMemorySpanExporter, tmp_path: Path
) -> None:
    configured(payload_dir=str(tmp_path))
    recordings = [run_agent(scenario, seed) for scenario, seed in run_seeds(40, "plant", "mix")]
    secrets = [secret for recording in recordings for secret in recording.planted_secrets]
    personal = [value for recording in recordings for value in recording.planted_personal]
    assert len(secrets) >= 5
    assert personal
    exported = json.dumps(
        [
            [
                s.name,
                s.status.description,
                attrs(s),
                [(e.name, attrs(e)) for e in s.events],
            ]
            for s in exporter.get_finished_spans()
        ]
    )
    stored = "\n".join(path.read_text(errors="replace") for path in tmp_path.iterdir())
    assert [secret for secret in secrets if secret in exported or secret in stored] == []
    # Personal data is masked only in strict mode: under standard it stays in payloads, never on spans.
    assert any(value in stored for value in personal)
    assert [value for value in personal if value in exported] == []


def test_a_load_covers_every_scenario_and_resolves_urls() -> None:
    runs = run_seeds(7, 3, "mix")
    assert [scenario for scenario, _ in runs[:5]] == list(SCENARIOS)
    assert [seed for _, seed in runs] == [f"3-{i}" for i in range(7)]
    assert run_seeds(2, 3, "timeout") == [("timeout", "3-0"), ("timeout", "3-1")]
    assert endpoints("http://127.0.0.1:8000/") == (
        "http://127.0.0.1:8000/otlp/v1/traces",
        "http://127.0.0.1:8000",
    )
    assert endpoints("http://collector:4318/v1/traces", "http://tf:8000") == (
        "http://collector:4318/v1/traces",
        "http://tf:8000",
    )


class _Accepting(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_load_stopped_by_an_error_still_shuts_the_sdk_down() -> None:
    def interrupted(done: int, total: int) -> None:
        raise KeyboardInterrupt

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Accepting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            send_demo_traces(traces=2, url=f"http://127.0.0.1:{server.server_port}/", progress=interrupted)
    finally:
        server.shutdown()

    assert tracefoundry.current_client() is None

"""Send a batch of demo agent runs to a TraceFoundry server (or a Collector) over OTLP/HTTP.

Used by `python -m tracefoundry.demo` and by the server's `manage.py demo_load`. Run `i` of a load with
seed `S` uses the agent seed `S-i`, so a second load with the same seed sends the same trace and span ids
and the server, which upserts on (trace_id, span_id), stores nothing twice. With scenario `mix`, the first
runs go through every scenario once, so any load of five runs or more covers them all.

The URL: a server base such as `http://127.0.0.1:8000` sends spans to `<url>/otlp/v1/traces` and payloads
to `<url>/api/payloads`; a URL ending in `/v1/traces` (a Collector's OTLP/HTTP receiver, for instance
`http://127.0.0.1:4318/v1/traces`) is used as-is for spans, and payloads then go to `payload_url`.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from tracefoundry.client import configure, shutdown
from tracefoundry.config import DEFAULT_URL
from tracefoundry.demo.agent import SCENARIOS, Recording, run_agent
from tracefoundry.payloads import UploadStats

SERVICE_NAME = "demo-research-agent"
ENVIRONMENT = "demo"
_RUN_SPACING_S = 45  # runs are laid out this far apart, ending around now


class CountingExporter(SpanExporter):
    """Wraps the real exporter to count spans the server accepted and refused."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.exported = 0
        self.failed = 0
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        with self._lock:
            if result is SpanExportResult.SUCCESS:
                self.exported += len(spans)
            else:
                self.failed += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


@dataclass
class LoadSummary:
    traces: int
    seed: str
    spans_exported: int
    spans_failed: int
    scenarios: dict[str, int]
    errors: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    payloads: UploadStats
    seconds: float
    trace_ids: list[str] = field(default_factory=list)
    recordings: list[Recording] = field(default_factory=list)


def endpoints(url: str, payload_url: str | None = None) -> tuple[str, str]:
    """(OTLP traces endpoint, TraceFoundry server base for payloads) for a `--url`."""
    base = url.rstrip("/")
    if base.endswith("/v1/traces"):
        return base, (payload_url or DEFAULT_URL).rstrip("/")
    return f"{base}/otlp/v1/traces", (payload_url or base).rstrip("/")


def run_seeds(traces: int, seed: str | int, scenario: str) -> list[tuple[str, str]]:
    """(scenario, agent seed) of every run of a load."""
    runs = []
    for index in range(traces):
        chosen = SCENARIOS[index] if scenario == "mix" and index < len(SCENARIOS) else scenario
        runs.append((chosen, f"{seed}-{index}"))
    return runs


def send_demo_traces(
    *,
    traces: int = 50,
    seed: str | int = 1,
    scenario: str = "mix",
    url: str = DEFAULT_URL,
    ingest_key: str | None = None,
    payload_url: str | None = None,
    redaction_mode: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadSummary:
    """Run `traces` demo agents, export them, and wait until spans and payloads are sent.

    Replaces any earlier `tracefoundry.configure()` of this process and shuts the SDK down at the end.
    """
    started = time.monotonic()
    otlp_endpoint, server = endpoints(url, payload_url)
    headers = {"Authorization": f"Bearer {ingest_key}"} if ingest_key else {}
    exporter = CountingExporter(OTLPSpanExporter(endpoint=otlp_endpoint, headers=headers, compression=Compression.Gzip))
    client = configure(
        service_name=SERVICE_NAME,
        environment=ENVIRONMENT,
        url=server,
        ingest_key=ingest_key,
        otlp_endpoint=otlp_endpoint,
        redaction_mode=redaction_mode,
        span_exporter=exporter,
    )
    now = time.time_ns()
    recordings = []
    runs = run_seeds(traces, seed, scenario)
    try:
        for index, (run_scenario, run_seed) in enumerate(runs):
            start_ns = now - (len(runs) - index) * _RUN_SPACING_S * 10**9
            recordings.append(run_agent(run_scenario, run_seed, start_ns=start_ns))
            if progress:
                progress(index + 1, len(runs))
        client.flush()
        payloads = client.payloads.stats
    finally:
        # Also when a run or the progress callback fails: a batch exporter left configured would send its spans
        # at interpreter exit, to a server that may be gone by then.
        shutdown()
    return LoadSummary(
        traces=len(recordings),
        seed=str(seed),
        spans_exported=exporter.exported,
        spans_failed=exporter.failed,
        scenarios=dict(Counter(recording.scenario for recording in recordings)),
        errors=sum(1 for recording in recordings if recording.outcome != "ok"),
        input_tokens=sum(recording.input_tokens for recording in recordings),
        output_tokens=sum(recording.output_tokens for recording in recordings),
        cost_usd=sum(recording.cost_usd for recording in recordings),
        payloads=payloads,
        seconds=time.monotonic() - started,
        trace_ids=[recording.trace_id for recording in recordings],
        recordings=recordings,
    )

"""The worst OTLP requests the limits accept, timed through the web server, with the worker's memory.

Sends, to one web server worker (as `make run` serves it), requests at `OTLP_MAX_SPANS_PER_REQUEST` and
`OTLP_MAX_TRACES_PER_REQUEST`: the most spans spread over the most traces (protobuf, then OTLP/JSON, the slower
decode), and the most spans in one trace. Prints each request's time (the limits are sized so that each takes
well under 10 s), the CPU time the worker spent on it (on a busy machine wall time is longer; with SQLite the
worker's CPU time is about what the request takes on an idle one), and the worker's resident memory before, at
its peak during the request, and 5 s after.
`make bench` runs it on Postgres; without `--database-url` it runs on a fresh SQLite file (the embedded default).

    python scripts/bench_request_limits.py [--database-url postgres://postgres@127.0.0.1:5432/tf_limits]
"""

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from bench import PROJECT_DIR, agent_trace, child_pids, kv, recreate_database, wait_for
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span


def export_request(spans: list[Span]) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend([kv("service.name", "limits-bench")])
    resource_spans.scope_spans.add().spans.extend(spans)
    return request


def spread_over_traces(rng: random.Random, spans: int, traces: int) -> list[Span]:
    """`spans` agent spans in `traces` traces (each trace its root and first steps)."""
    per_trace, extra = divmod(spans, traces)
    result: list[Span] = []
    for index in range(traces):
        wanted = per_trace + (1 if index < extra else 0)
        trace: list[Span] = []
        while len(trace) < wanted:
            trace += agent_trace(rng, time.time_ns() - 60_000_000_000, 0)
        trace_id = trace[0].trace_id
        for span in trace:
            span.trace_id = trace_id
        result += trace[:wanted]
    return result


def otlp_json(request: ExportTraceServiceRequest) -> bytes:
    document = json_format.MessageToDict(request)
    for span in document["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        for key in ("traceId", "spanId", "parentSpanId"):
            if key in span:
                span[key] = bytes(json_format.base64.b64decode(span[key])).hex()
    return json.dumps(document).encode()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (robust to a busy machine, unlike wall time)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def served(env: dict[str, str]) -> Iterator[tuple[str, int]]:
    port = 19000 + os.getpid() % 1000
    command = [sys.executable, "-m", "tracefoundry_site.serve", "--port", str(port), "--workers", "1"]
    server = subprocess.Popen([*command, "--log-level", "warning"], cwd=PROJECT_DIR, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base)
        yield base, child_pids(server.pid)[0]
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="", help="Postgres database to recreate (default: SQLite file)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="tf-limits-"))
    database_url = args.database_url or f"sqlite:///{var_dir / 'limits.sqlite3'}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "VAR_DIR": str(var_dir),
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench"),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    if args.database_url:
        recreate_database(args.database_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=PROJECT_DIR, env=env, check=True
    )

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracefoundry_site.settings")
    django.setup()
    from django.conf import settings

    from accounts.models import IngestKey

    _, ingest_key = IngestKey.issue("limits-bench")
    max_spans, max_traces = settings.OTLP_MAX_SPANS_PER_REQUEST, settings.OTLP_MAX_TRACES_PER_REQUEST
    rng = random.Random(args.seed)
    spread = export_request(spread_over_traces(rng, max_spans, max_traces))
    one_trace = export_request(spread_over_traces(rng, max_spans, 1))
    json_spread = export_request(spread_over_traces(rng, max_spans, max_traces))
    cases = [
        (
            f"{max_spans:,} spans in {max_traces:,} traces, protobuf",
            "application/x-protobuf",
            spread.SerializeToString(),
        ),
        (f"{max_spans:,} spans in 1 trace, protobuf", "application/x-protobuf", one_trace.SerializeToString()),
        (f"{max_spans:,} spans in {max_traces:,} traces, OTLP/JSON", "application/json", otlp_json(json_spread)),
    ]
    # gzip, as collectors and SDKs send it (OTLP/JSON at the span limit can be over the body limit uncompressed).
    compressed = [(name, content_type, gzip.compress(body, 6), len(body)) for name, content_type, body in cases]
    engine = "Postgres" if args.database_url else "SQLite"
    print(
        f"worst accepted OTLP requests on {engine}, one web worker (OTLP_MAX_SPANS_PER_REQUEST={max_spans:,}, "
        f"OTLP_MAX_TRACES_PER_REQUEST={max_traces:,})"
    )
    with served(env) as (base, worker):
        requests.get(f"{base}/accounts/login/", timeout=10)
        for name, content_type, body, raw_size in compressed:
            before = memory_mib(worker, "VmRSS")
            Path(f"/proc/{worker}/clear_refs").write_text("5")  # resets the peak (VmHWM) to the current RSS
            started, cpu_before = time.perf_counter(), cpu_seconds(worker)
            response = requests.post(
                f"{base}/otlp/v1/traces",
                data=body,
                headers={
                    "Content-Type": content_type,
                    "Content-Encoding": "gzip",
                    "Authorization": f"Bearer {ingest_key}",
                },
                timeout=120,
            )
            elapsed, cpu = time.perf_counter() - started, cpu_seconds(worker) - cpu_before
            peak = memory_mib(worker, "VmHWM")
            time.sleep(5)
            print(
                f"  {name:<44} {raw_size / 2**20:5.1f} MiB ({len(body) / 2**20:4.1f} gzipped)  {response.status_code}  "
                f"{elapsed:5.1f} s (worker CPU {cpu:4.1f} s)   "
                f"worker RSS {before:4.0f} MiB before, {peak:4.0f} peak, {memory_mib(worker, 'VmRSS'):4.0f} 5 s after"
            )


if __name__ == "__main__":
    main()

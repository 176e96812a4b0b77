"""`make bench`: ingest and query benchmark against the server run as in production (Granian, on Postgres).

Seeds realistic agent traces, posts them as OTLP protobuf (gzip, 512 spans a request) from concurrent posters,
and prints spans/s stored end to end (a 200 from /otlp means committed, and the count is checked in the
database afterwards), the server's peak memory (sum of the web server processes' peak RSS), the host's busy, idle and
stolen CPU during ingest, then p50/p95 of `/api/traces` with and without filters and of `/api/traces/{id}/spans`
at the stored span count, then of `/api/metrics` (all time, last 24 h, grouped by service, model and tool) and
`/api/sessions`. `make bench` runs the two invocations below.

    python scripts/bench.py --database-url postgres://postgres@127.0.0.1:5432/tracefoundry_bench
    python scripts/bench.py --spans 200000 --payload-bytes 2048    # payload-heavy ingest
    python scripts/bench.py --reuse    # queries only, on the database a previous run left (migrated first)

Every figure is printed with the host's load average at the time, since the host is shared.
"""

import argparse
import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import requests

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402
from opentelemetry.proto.common.v1.common_pb2 import KeyValue  # noqa: E402
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status  # noqa: E402

SPANS_PER_REQUEST = 512
SERVICES = ["support-agent", "research-agent", "billing-agent", "triage-agent"]
MODELS = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "gemini-2.5-flash"]
TOOLS = ["search", "calculator", "sql_lookup", "fetch_url", "send_email", "vector_search"]


def kv(key: str, value: str | int) -> KeyValue:
    item = KeyValue(key=key)
    if isinstance(value, int):
        item.value.int_value = value
    else:
        item.value.string_value = value
    return item


_FILLER = "Summarise the customer's ticket, check the order history and plan the next tool call. "


def unique_text(rng: random.Random, size: int) -> str:
    """Prompt-like text of `size` characters, different for every call (so the payload store cannot dedupe)."""
    return (f"ticket {rng.getrandbits(64):016x}: " + _FILLER * (size // len(_FILLER) + 1))[:size]


def messages_json(role: str, text: str) -> str:
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}])


def agent_trace(rng: random.Random, start_ns: int, payload_bytes: int) -> list[Span]:
    """One agent run: a root agent span, planner LLM calls, tool calls with retries, errors and timeouts."""
    trace_id = rng.randbytes(16)
    root_id = rng.randbytes(8)
    spans = []
    clock = start_ns + 1_000_000
    steps = rng.randint(4, 14)
    for step in range(steps):
        model = rng.choice(MODELS)
        llm_ms = rng.randint(200, 3000)
        llm = Span(
            trace_id=trace_id,
            span_id=rng.randbytes(8),
            parent_span_id=root_id,
            name=f"chat {model}",
            kind=Span.SPAN_KIND_CLIENT,
            start_time_unix_nano=clock,
            end_time_unix_nano=clock + llm_ms * 1_000_000,
        )
        llm.attributes.extend(
            [
                kv("gen_ai.operation.name", "chat"),
                kv("gen_ai.request.model", model),
                kv("gen_ai.provider.name", "openai"),
                kv("gen_ai.usage.input_tokens", rng.randint(200, 8000)),
                kv("gen_ai.usage.output_tokens", rng.randint(20, 1500)),
                kv("step", step),
            ]
        )
        if payload_bytes:
            llm.attributes.extend(
                [
                    kv("gen_ai.input.messages", messages_json("user", unique_text(rng, payload_bytes))),
                    kv("gen_ai.output.messages", messages_json("assistant", unique_text(rng, payload_bytes))),
                ]
            )
        if rng.random() < 0.05:
            llm.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="rate limited"))
        spans.append(llm)
        clock += llm_ms * 1_000_000
        for _ in range(rng.randint(0, 2)):
            tool = rng.choice(TOOLS)
            tool_ms = rng.randint(5, 2000)
            tool_span = Span(
                trace_id=trace_id,
                span_id=rng.randbytes(8),
                parent_span_id=root_id,
                name=f"execute_tool {tool}",
                kind=Span.SPAN_KIND_INTERNAL,
                start_time_unix_nano=clock,
                end_time_unix_nano=clock + tool_ms * 1_000_000,
            )
            tool_span.attributes.extend(
                [
                    kv("gen_ai.operation.name", "execute_tool"),
                    kv("gen_ai.tool.name", tool),
                    kv("gen_ai.tool.call.id", rng.randbytes(6).hex()),
                ]
            )
            if rng.random() < 0.1:
                event = tool_span.events.add(name="tracefoundry.retry", time_unix_nano=clock + 1000)
                event.attributes.extend([kv("tracefoundry.retry.attempt", 1), kv("tracefoundry.retry.reason", "503")])
            if rng.random() < 0.03:
                tool_span.attributes.append(kv("error.type", "TimeoutError"))
                tool_span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="tool timed out"))
            child = Span(
                trace_id=trace_id,
                span_id=rng.randbytes(8),
                parent_span_id=tool_span.span_id,
                name=f"HTTP GET {tool}",
                kind=Span.SPAN_KIND_CLIENT,
                start_time_unix_nano=clock + 1000,
                end_time_unix_nano=clock + tool_ms * 900_000,
            )
            child.attributes.extend(
                [
                    kv("http.request.method", "GET"),
                    kv("http.response.status_code", 200),
                    kv("url.full", f"https://api.example.com/{tool}?q={rng.randint(0, 10**6)}"),
                ]
            )
            spans += [tool_span, child]
            clock += tool_ms * 1_000_000
    root = Span(
        trace_id=trace_id,
        span_id=root_id,
        name="invoke_agent support",
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=clock + 1_000_000,
    )
    root.attributes.extend(
        [
            kv("gen_ai.operation.name", "invoke_agent"),
            kv("gen_ai.agent.name", "support"),
            kv("gen_ai.conversation.id", f"conversation-{rng.randrange(20_000):05d}"),  # a few turns each
        ]
    )
    return [root, *spans]


def request_bodies(
    total_spans: int,
    seed: int,
    payload_bytes: int,
    latest_start_ns: int | None = None,
    window_seconds: int = 7 * 24 * 3600,
) -> list[bytes]:
    """OTLP requests of seeded agent traces, each starting within `window_seconds` before `latest_start_ns` (now)."""
    rng = random.Random(seed)
    latest_ns = time.time_ns() if latest_start_ns is None else latest_start_ns
    bodies: list[bytes] = []
    pending: list[Span] = []
    produced = 0
    service = SERVICES[0]

    def flush() -> None:
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(
            [kv("service.name", service), kv("deployment.environment.name", "bench")]
        )
        scope = resource_spans.scope_spans.add()
        scope.scope.name = "bench"
        scope.spans.extend(pending)
        bodies.append(gzip.compress(request.SerializeToString(), 6))
        pending.clear()

    while produced < total_spans:
        service = rng.choice(SERVICES)
        start = latest_ns - rng.randint(0, window_seconds) * 1_000_000_000
        trace = agent_trace(rng, start, payload_bytes)[: total_spans - produced]
        produced += len(trace)
        for span in trace:
            pending.append(span)
            if len(pending) == SPANS_PER_REQUEST:
                flush()
    if pending:
        flush()
    return bodies


def peak_rss_mib(root_pid: int) -> float:
    """Sum of peak resident memory (VmHWM) of the web server's main process and its workers."""
    total_kib = 0
    for pid in [root_pid, *child_pids(root_pid)]:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total_kib += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total_kib / 1024


def host_cpu_ticks() -> list[int]:
    """The machine's CPU time counters (user … steal), empty where /proc/stat is missing."""
    try:
        return [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (FileNotFoundError, ValueError):
        return []


def cpu_share(before: list[int], after: list[int]) -> str:
    """Busy, idle and stolen shares of the machine's CPU time between two readings.

    Steal is time the hypervisor gave to other guests: on a shared host it lowers every figure here, so it is
    printed with them.
    """
    user, nice, system, idle, iowait, irq, softirq, steal = (b - a for a, b in zip(before, after, strict=True))
    total = max(1, user + nice + system + idle + iowait + irq + softirq + steal)
    busy = user + nice + system + irq + softirq
    return f"{busy / total:.0%} busy, {(idle + iowait) / total:.0%} idle, {steal / total:.0%} stolen by the host"


def child_pids(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tracefoundry_bench"),
    )
    parser.add_argument("--spans", type=int, default=1_000_000, help="spans to ingest (default 1,000,000)")
    parser.add_argument("--posters", type=int, default=4, help="concurrent posting clients")
    parser.add_argument("--workers", type=int, default=3, help="web server workers (as `make run`)")
    parser.add_argument("--payload-bytes", type=int, default=0, help="prompt and completion size per LLM span")
    parser.add_argument("--queries", type=int, default=40, help="requests per query benchmark")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the database a previous run left (migrating it) and measure the queries only",
    )
    args = parser.parse_args()

    env = prepare_database(args.database_url, recreate=not args.reuse)

    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    from accounts.models import IngestKey

    user, _ = User.objects.get_or_create(username="bench-viewer")
    user.groups.add(Group.objects.get(name="viewer"))
    api_token = Token.objects.get_or_create(user=user)[0].key

    bodies, ingest_key = [], ""
    if not args.reuse:
        _, ingest_key = IngestKey.issue("bench")
        print(f"generating {args.spans:,} spans of seeded agent traces ...", flush=True)
        bodies = request_bodies(args.spans, args.seed, args.payload_bytes)
        print(
            f"  {len(bodies):,} requests of up to {SPANS_PER_REQUEST} spans, "
            f"{sum(map(len, bodies)) / 2**20:.1f} MiB gzipped",
            flush=True,
        )

    server, base = start_server(env, args.workers)
    try:
        if bodies:
            ingest(base, bodies, ingest_key, args.posters, args.workers, server.pid)
        measure_queries(base, api_token, args.queries)
    finally:
        server.terminate()
        server.wait(timeout=30)


def ingest(base: str, bodies: list[bytes], ingest_key: str, posters: int, workers: int, server_pid: int) -> None:
    """Post `bodies` from `posters` concurrent clients; print spans/s stored, peak memory and host CPU."""
    import threading

    from traces.models import Span as StoredSpan

    headers = {
        "Content-Type": "application/x-protobuf",
        "Content-Encoding": "gzip",
        "Authorization": f"Bearer {ingest_key}",
    }
    session_per_thread: dict[int, requests.Session] = {}

    def post(body: bytes) -> int:
        session = session_per_thread.setdefault(threading.get_ident(), requests.Session())
        return session.post(f"{base}/otlp/v1/traces", data=body, headers=headers, timeout=120).status_code

    cpu_before = host_cpu_ticks()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=posters) as pool:
        statuses = list(pool.map(post, bodies))
    elapsed = time.perf_counter() - started
    cpu_after = host_cpu_ticks()
    stored = StoredSpan.objects.count()
    failures = len([s for s in statuses if s != 200])
    print(
        f"\ningest: {stored:,} spans stored in {elapsed:.1f} s = {stored / elapsed:,.0f} spans/s "
        f"({posters} posters, {workers} web workers, {failures} failed requests)"
    )
    print(f"server peak memory: {peak_rss_mib(server_pid):,.0f} MiB (sum of the web server processes' peak RSS)")
    if cpu_before and cpu_after:
        print(f"host CPU during ingest: {cpu_share(cpu_before, cpu_after)}")


def measure_queries(base: str, api_token: str, queries: int) -> None:
    """p50/p95 of the list (each filter), a trace's detail and span pages, metrics and sessions."""
    from django.db import connection

    from traces.models import Span as StoredSpan
    from traces.models import Trace

    # Fresh planner statistics, as autovacuum would have gathered them on a server that ran for a while, and the
    # pages ingest and the vacuum dirtied written out: otherwise the queries are timed while the checkpointer
    # writes a gigabyte (seen: the week's metrics by model at 358 ms p95 right after ingest, 269 ms once written).
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")
    api = requests.Session()
    api.headers["Authorization"] = f"Token {api_token}"
    trace_ids = list(Trace.objects.order_by("?").values_list("trace_id", flat=True)[:queries])
    scenarios: dict[str, dict[str, str | int]] = {
        "/api/traces": {},
        "/api/traces status=error": {"status": "error"},
        "/api/traces model=gpt-4o": {"model": "gpt-4o"},
        "/api/traces model=gemini (a quarter of traces)": {"model": "gemini"},
        "/api/traces tool=sql": {"tool": "sql"},
        "/api/traces tool=no-such-tool (none)": {"tool": "no-such-tool"},
        "/api/traces sort=slowest": {"sort": "slowest"},
        "/api/traces sort=most_expensive min_tokens=20000": {
            "sort": "most_expensive",
            "min_tokens": 20000,
        },
        "/api/traces min_duration_ms=30000 service": {
            "min_duration_ms": 30000,
            "service": "billing-agent",
        },
        "/api/traces q=sql_lookup": {"q": "sql_lookup"},
    }
    stored = StoredSpan.objects.count()
    traces = Trace.objects.count()
    print(f"\nquery latency at {stored:,} spans / {traces:,} traces ({queries} requests each; load average):")
    for label, params in scenarios.items():
        samples = timed(partial(api.get, f"{base}/api/traces", params=params, timeout=60), queries)
        print(f"  {label:55s} {percentiles(samples)}   {load_average()}")
    for label, path in (
        ("/api/traces/{id}", "/api/traces/{}"),
        ("/api/traces/{id}?critical_path=false", "/api/traces/{}?critical_path=false"),
        ("/api/traces/{id}/spans", "/api/traces/{}/spans"),
    ):
        samples = [timed(partial(api.get, base + path.format(trace_id), timeout=60), 1)[0] for trace_id in trace_ids]
        print(f"  {label:55s} {percentiles(samples)}   {load_average()}")
    day_ago = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    metric_scenarios: dict[str, dict[str, str | int]] = {
        "/api/metrics (all 7 days)": {},
        "/api/metrics (all 7 days) group_by=model": {"group_by": "model"},
        "/api/metrics last 24 h": {"start": day_ago},
        "/api/metrics last 24 h group_by=service": {"start": day_ago, "group_by": "service"},
        "/api/metrics last 24 h group_by=model": {"start": day_ago, "group_by": "model"},
        "/api/metrics last 24 h group_by=tool": {"start": day_ago, "group_by": "tool"},
        "/api/metrics last 24 h status=error": {"start": day_ago, "status": "error"},
        "/api/metrics last 24 h model=gpt-4o": {"start": day_ago, "model": "gpt-4o"},
        "/api/sessions": {},
    }
    for label, params in metric_scenarios.items():
        path = "/api/sessions" if label.startswith("/api/sessions") else "/api/metrics"
        samples = timed(partial(api.get, f"{base}{path}", params=params, timeout=60), queries)
        print(f"  {label:55s} {percentiles(samples)}   {load_average()}")


def load_average() -> str:
    """The host's 1-minute load average now ("load ?" where the platform has none)."""
    try:
        return f"load {os.getloadavg()[0]:.2f}"
    except OSError:
        return "load ?"


def prepare_database(database_url: str, *, recreate: bool = True) -> dict[str, str]:
    """Recreate the database (unless told not to), migrate it as `make run` does, set Django up in this process;
    the server's env."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench"),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    if recreate:
        recreate_database(database_url)
    for command in (["migrate"], ["collectstatic"]):
        subprocess.run(
            [sys.executable, "manage.py", *command, "--no-input", "-v", "0"], cwd=PROJECT_DIR, env=env, check=True
        )
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracefoundry_site.settings")
    django.setup()
    return env


def start_server(env: dict[str, str], workers: int) -> tuple[subprocess.Popen, str]:
    """The server as `make run` serves it, `workers` workers, answering at the returned base URL."""
    port = 18000 + os.getpid() % 1000
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tracefoundry_site.serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=PROJECT_DIR,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(base)
    return server, base


def timed(call: Callable[[], requests.Response], times: int) -> list[float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"query failed with {response.status_code}: {response.text[:300]}")
    return samples


def wait_for(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/accounts/login/", timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("server did not start")


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    main()

"""`make bench`, big traces: what one trace of 100,000 and of 1,000,000 spans costs to ingest and to open.

Against the server run as in production (Granian on Postgres, fresh database):
1. one trace of `--spans` (100,000) spans posted in batches of 500 by one client, one batch after the other:
   prints the first and the last batch's time (and the medians of the first and last ten), which stay level
   when a batch's cost does not depend on the spans already stored;
2. one trace of `--million` (1,000,000) spans in batches of 500 from `--posters` (4) clients: spans/s stored;
3. the first page of `/api/traces/{id}/spans` of both traces (p50/p95), what the explorer shows first.

Spans come in the order SDKs export them, a span when it ends: children before their parents, the root last,
so most batches hold spans whose parent is still missing (orphans until it arrives).

    python scripts/bench_big_trace.py --database-url postgres://postgres@127.0.0.1:5432/tracefoundry_bench
"""

import argparse
import gzip
import os
import random
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import requests
from bench import kv, percentiles, prepare_database, start_server, timed
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

BATCH = 500
FIRST_PAGE = 200  # the explorer's first request (frontend/src/components/TraceView.tsx)
TOOLS = ["search", "calculator", "sql_lookup", "fetch_url", "vector_search"]


def spans_in_export_order(trace_id: bytes, total: int, rng: random.Random) -> Iterator[Span]:
    """A long-running agent: steps of one LLM call followed by tool calls under it, each step a child of the root;
    yielded as they end (each step after its calls, the root last)."""
    root_id = rng.randbytes(8)
    start = time.time_ns() - 3_600 * 10**9
    clock = start
    produced = 1
    while produced < total:
        step_id = rng.randbytes(8)
        step_start = clock
        calls = min(rng.randint(20, 80), total - produced - 1)
        for _ in range(calls):
            tool = rng.choice(TOOLS)
            call = Span(
                trace_id=trace_id,
                span_id=rng.randbytes(8),
                parent_span_id=step_id,
                name=f"execute_tool {tool}",
                start_time_unix_nano=clock,
                end_time_unix_nano=clock + rng.randint(1, 50) * 1_000_000,
            )
            call.attributes.extend([kv("gen_ai.operation.name", "execute_tool"), kv("gen_ai.tool.name", tool)])
            if rng.random() < 0.02:
                call.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="tool timed out"))
            clock = call.end_time_unix_nano
            yield call
        step = Span(
            trace_id=trace_id,
            span_id=step_id,
            parent_span_id=root_id,
            name="chat gpt-4o-mini",
            start_time_unix_nano=step_start,
            end_time_unix_nano=clock + 1_000_000,
        )
        step.attributes.extend(
            [
                kv("gen_ai.operation.name", "chat"),
                kv("gen_ai.request.model", "gpt-4o-mini"),
                kv("gen_ai.usage.input_tokens", rng.randint(200, 4000)),
                kv("gen_ai.usage.output_tokens", rng.randint(10, 400)),
            ]
        )
        clock = step.end_time_unix_nano
        produced += calls + 1
        yield step
    root = Span(trace_id=trace_id, span_id=root_id, name="invoke_agent long-runner")
    root.start_time_unix_nano, root.end_time_unix_nano = start, clock + 1_000_000
    root.attributes.append(kv("gen_ai.operation.name", "invoke_agent"))
    yield root


def batch_bodies(total: int, seed: int) -> tuple[str, list[bytes]]:
    rng = random.Random(seed)
    trace_id = rng.randbytes(16)
    bodies: list[bytes] = []
    pending: list[Span] = []

    def flush() -> None:
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(
            [kv("service.name", "long-runner"), kv("deployment.environment.name", "bench")]
        )
        resource_spans.scope_spans.add().spans.extend(pending)
        bodies.append(gzip.compress(request.SerializeToString(), 1))
        pending.clear()

    for span in spans_in_export_order(trace_id, total, rng):
        pending.append(span)
        if len(pending) == BATCH:
            flush()
    if pending:
        flush()
    return trace_id.hex(), bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tracefoundry_bench"),
    )
    parser.add_argument("--spans", type=int, default=100_000, help="spans of the trace posted batch after batch")
    parser.add_argument("--million", type=int, default=1_000_000, help="spans of the trace posted concurrently")
    parser.add_argument("--posters", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3, help="web server workers (as `make run`)")
    parser.add_argument("--queries", type=int, default=20, help="requests for the first page of spans")
    args = parser.parse_args()

    env = prepare_database(args.database_url)
    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    from accounts.models import IngestKey
    from traces.models import Trace

    _, ingest_key = IngestKey.issue("bench")
    user = User.objects.create_user("bench-viewer")
    user.groups.add(Group.objects.get(name="viewer"))
    api = requests.Session()
    api.headers["Authorization"] = f"Token {Token.objects.create(user=user).key}"
    headers = {
        "Content-Type": "application/x-protobuf",
        "Content-Encoding": "gzip",
        "Authorization": f"Bearer {ingest_key}",
    }

    print(f"generating a trace of {args.spans:,} spans and one of {args.million:,} ...", flush=True)
    sequential_trace, sequential = batch_bodies(args.spans, seed=1)
    million_trace, million = batch_bodies(args.million, seed=2)
    server, base = start_server(env, args.workers)
    try:
        client = requests.Session()
        times = []
        started = time.perf_counter()
        for body in sequential:
            sent = time.perf_counter()
            response = client.post(f"{base}/otlp/v1/traces", data=body, headers=headers, timeout=120)
            times.append(time.perf_counter() - sent)
            if response.status_code != 200:
                raise SystemExit(f"batch failed with {response.status_code}: {response.text[:300]}")
        elapsed = time.perf_counter() - started
        stored = Trace.objects.get(trace_id=sequential_trace).span_count
        first, last = statistics.median(times[:10]), statistics.median(times[-10:])
        print(
            f"\none trace, {stored:,} spans in {len(sequential)} batches of {BATCH}, one after the other: "
            f"{elapsed:.1f} s = {stored / elapsed:,.0f} spans/s\n"
            f"  first batch {times[0] * 1000:.0f} ms, last batch {times[-1] * 1000:.0f} ms; "
            f"median of the first ten {first * 1000:.0f} ms, of the last ten {last * 1000:.0f} ms "
            f"(last/first {last / first:.2f}, target <= 2)"
        )

        sessions: dict[int, requests.Session] = {}

        def post(body: bytes) -> int:
            session = sessions.setdefault(threading.get_ident(), requests.Session())
            return session.post(f"{base}/otlp/v1/traces", data=body, headers=headers, timeout=120).status_code

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.posters) as pool:
            statuses = list(pool.map(post, million))
        elapsed = time.perf_counter() - started
        stored = Trace.objects.get(trace_id=million_trace).span_count
        failures = len([status for status in statuses if status != 200])
        print(
            f"one trace, {stored:,} spans in {len(million):,} batches of {BATCH} from {args.posters} posters: "
            f"{elapsed:.1f} s = {stored / elapsed:,.0f} spans/s (target >= 5,000; {failures} failed requests)"
        )

        print(
            f"\nfirst page of /api/traces/{{id}}/spans, {FIRST_PAGE} spans as the explorer asks "
            f"({args.queries} requests each, gzip accepted):"
        )
        for trace_id in (sequential_trace, million_trace):
            count = Trace.objects.get(trace_id=trace_id).span_count
            first_page = partial(
                api.get, f"{base}/api/traces/{trace_id}/spans", params={"limit": FIRST_PAGE}, timeout=60
            )
            samples = timed(first_page, args.queries)
            print(f"  {count:>9,} spans  {percentiles(samples)}  (target < 300 ms)")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()

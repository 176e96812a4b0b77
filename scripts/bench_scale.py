"""`make bench-scale`: spans and traces partitioned by day on Postgres at 10,000,000 spans; retention of one day.

1. Ingests `--spans` (1,000,000) spans of seeded agent traces through the real server (Granian, OTLP protobuf,
   as `scripts/bench.py`), all dated yesterday (UTC).
2. Copies them with SQL into the `--copies` (9) days before, each copy with new trace and span ids (md5 of the old
   ones and the copy number) and times shifted by whole days, its traces first and last ingested on their day (the
   ingested day's traces too): 10 days of 1,000,000 spans, 10,000,000 in all. The copies are SQL, not ingest: say so
   beside any figure.
3. Prints p50/p95 of `/api/traces` with each filter of `scripts/bench.py`, of a trace's detail, of its first page
   of spans and of a span's detail (target p95 < 100 ms), and the table and index size per million spans.
4. Retention of one day of 1,000,000 spans, the oldest day by row deletes (the row pass, as before partitions) and
   the next by dropping its partitions of spans and traces (100 of its traces marked as still retained, so their
   spans and summaries are kept), each while posters keep ingesting new traces: the time each took (the row deletes
   stop after `--row-seconds`; their rate gives the time for 1,000,000 spans), how long the tables were locked, the
   ingest requests' max latency meanwhile, and that every span sent meanwhile was stored.

    python scripts/bench_scale.py --database-url postgres://postgres@127.0.0.1:5432/tracefoundry_bench_scale
"""

import argparse
import gzip
import multiprocessing
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import requests

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))
sys.path.insert(0, str(PROJECT_DIR / "scripts"))

from bench import (  # noqa: E402
    agent_trace,
    kv,
    percentiles,
    prepare_database,
    request_bodies,
    start_server,
    timed,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402

DAY_NS = 86_400 * 1_000_000_000
HOUR_NS = 3_600 * 1_000_000_000

# Expressions for the copied rows' columns (others are copied as they are); %(k)s is the copy number.
_SPAN_COPY = {
    "trace_id": "md5(trace_id || '-' || %(k)s)",
    "span_id": "left(md5(span_id || '-' || %(k)s), 16)",
    "parent_span_id": "CASE WHEN parent_span_id = '' THEN '' ELSE left(md5(parent_span_id || '-' || %(k)s), 16) END",
    "start_unix_nano": "start_unix_nano - %(shift)s",
    "end_unix_nano": "end_unix_nano - %(shift)s",
}
_TRACE_COPY = {
    "trace_id": "md5(trace_id || '-' || %(k)s)",
    "root_span_id": "CASE WHEN root_span_id = '' THEN '' ELSE left(md5(root_span_id || '-' || %(k)s), 16) END",
    "top_span_id": "CASE WHEN top_span_id = '' THEN '' ELSE left(md5(top_span_id || '-' || %(k)s), 16) END",
    "start_unix_nano": "start_unix_nano - %(shift)s",
    "end_unix_nano": "end_unix_nano - %(shift)s",
    "session_id": "CASE WHEN session_id = '' THEN '' ELSE session_id || '-' || %(k)s END",
    "ingested_at": "to_timestamp((start_unix_nano - %(shift)s) / 1e9)",
    "updated_at": "to_timestamp((start_unix_nano - %(shift)s) / 1e9)",
    "last_ingested_at": "to_timestamp((end_unix_nano - %(shift)s) / 1e9)",
}


class Poster:
    """Posts OTLP requests from threads of a child process until stopped; records each request's latency, when it
    ended, and the traces it sent.

    A process of its own, as clients are: its threads, building and compressing requests, would otherwise hold the
    GIL of the process whose retention is being timed (measured: a day's drop 1.69 s beside them, 1.28 s with them in
    another process, 0.92 s with no ingest)."""

    def __init__(self, base: str, ingest_key: str, threads: int, seed: int) -> None:
        headers = {
            "Content-Type": "application/x-protobuf",
            "Content-Encoding": "gzip",
            "Authorization": f"Bearer {ingest_key}",
        }
        # Filled in when stopped: (monotonic time it ended, latency in ms) of each request, and the totals.
        self.requests: list[tuple[float, float]] = []
        self.failures = 0
        self.spans_sent = 0
        self.trace_ids: set[str] = set()
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._results, self._send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_post_until_stopped, args=(f"{base}/otlp/v1/traces", headers, threads, seed, self._stop, self._send)
        )

    def __enter__(self) -> "Poster":
        self._process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        # Read before joining: the child cannot exit while its large message waits in the pipe.
        self.requests, self.failures, self.spans_sent, self.trace_ids = self._results.recv()
        self._process.join(timeout=300)

    def latencies_between(self, start: float, end: float) -> list[float]:
        """Latencies (ms) of the requests that ended between two `time.monotonic()` readings."""
        return [latency for ended, latency in self.requests if start <= ended <= end]


def _post_until_stopped(url: str, headers: dict[str, str], threads: int, seed: int, stop: Any, send: Any) -> None:
    lock = threading.Lock()
    requests_done: list[tuple[float, float]] = []
    totals = {"failures": 0, "spans_sent": 0}
    trace_ids: set[str] = set()

    def post(seed: int) -> None:
        rng = random.Random(seed)
        session = requests.Session()
        while not stop.is_set():
            now_ns = time.time_ns()
            spans: list = []
            while len(spans) < 100:
                spans += agent_trace(rng, now_ns - rng.randint(0, 600) * 1_000_000_000, 0)
            request = ExportTraceServiceRequest()
            resource_spans = request.resource_spans.add()
            resource_spans.resource.attributes.extend([kv("service.name", "live-agent")])
            resource_spans.scope_spans.add().spans.extend(spans)
            body = gzip.compress(request.SerializeToString(), 6)
            started = time.perf_counter()
            status = session.post(url, data=body, headers=headers, timeout=300).status_code
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                requests_done.append((time.monotonic(), elapsed))
                if status == 200:
                    totals["spans_sent"] += len(spans)
                    trace_ids.update(span.trace_id.hex() for span in spans)
                else:
                    totals["failures"] += 1

    workers = [threading.Thread(target=post, args=(seed * 100 + n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    send.send((requests_done, totals["failures"], totals["spans_sent"], trace_ids))


def latency(samples: list[float]) -> str:
    if not samples:
        return "no request completed"
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"max {ordered[-1]:,.0f} ms, p95 {p95:,.0f} ms"


def stored_spans_of(trace_ids: set[str]) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM spans WHERE trace_id = ANY(%s)", [sorted(trace_ids)])
        return int(cursor.fetchone()[0])


def columns_of(table: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
            "ORDER BY attnum",
            [table],
        )
        return [name for (name,) in cursor.fetchall()]


def copy_day(source_lower: int, source_upper: int, k: int) -> None:
    """Copy the traces that start in [source_lower, source_upper) and their spans `k` days earlier, new ids."""
    from django.db import connection, transaction

    params: dict[str, str | int] = {"k": str(k), "shift": k * DAY_NS}
    span_columns = [c for c in columns_of("spans") if c != "id"]
    trace_columns = columns_of("traces")
    span_select = ", ".join(_SPAN_COPY.get(c, f'"{c}"') for c in span_columns)
    trace_select = ", ".join(_TRACE_COPY.get(c, f'"{c}"') for c in trace_columns)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO trace_keys SELECT md5(trace_id || '-' || %(k)s) FROM traces "
            "WHERE start_unix_nano >= %(lower)s AND start_unix_nano < %(upper)s",
            {**params, "lower": source_lower, "upper": source_upper},
        )
        cursor.execute(
            f"INSERT INTO traces ({', '.join(trace_columns)}) SELECT {trace_select} FROM traces "  # noqa: S608
            "WHERE start_unix_nano >= %(lower)s AND start_unix_nano < %(upper)s",
            {**params, "lower": source_lower, "upper": source_upper},
        )
        cursor.execute(
            f"INSERT INTO spans ({', '.join(span_columns)}) SELECT {span_select} FROM spans "  # noqa: S608
            "WHERE trace_id IN (SELECT trace_id FROM traces WHERE start_unix_nano >= %(lower)s "
            "AND start_unix_nano < %(upper)s)",
            {**params, "lower": source_lower, "upper": source_upper},
        )


def sizes_per_million() -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT sum(pg_table_size(c.oid)), sum(pg_indexes_size(c.oid))
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'spans'::regclass
            """
        )
        span_table, span_indexes = (int(size) for size in cursor.fetchone())
        cursor.execute(
            """
            SELECT sum(pg_table_size(c.oid)), sum(pg_indexes_size(c.oid)), (SELECT count(*) FROM traces)
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'traces'::regclass
            """
        )
        trace_table, trace_indexes, traces = (int(value) for value in cursor.fetchone())
        cursor.execute("SELECT count(*) FROM spans")
        (spans,) = cursor.fetchone()
        cursor.execute("SELECT pg_total_relation_size('trace_keys')")
        (keys,) = cursor.fetchone()
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index "
            "WHERE indrelid = (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'spans'::regclass "
            "ORDER BY pg_relation_size(inhrelid) DESC LIMIT 1)"
        )
        per_index = cursor.fetchall()
    millions = spans / 1e6
    mib = 2**20
    lines = [
        f"spans: {spans:,} rows; per million spans: table {span_table / millions / mib:,.0f} MiB, "
        f"indexes {span_indexes / millions / mib:,.0f} MiB",
        f"traces: {traces:,} rows ({spans / max(traces, 1):.1f} spans each); per million spans: table "
        f"{trace_table / millions / mib:,.0f} MiB, indexes {trace_indexes / millions / mib:,.0f} MiB; "
        f"trace_keys {keys / millions / mib:,.0f} MiB",
    ]
    lines.append(
        "indexes of the largest day partition: " + ", ".join(f"{n} {size / mib:,.0f} MiB" for n, size in per_index)
    )
    return lines


def ingest_and_copy(base: str, ingest_key: str, spans: int, seed: int, posters: int, days: list) -> None:
    """Ingest `spans` spans dated days[0] through the server, then copy them into each of the other days."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from traces import partitions
    from traces.models import Span

    for day in days:
        partitions.create_day(day)
    source = partitions.partition_for(days[0])
    print(f"generating {spans:,} spans of seeded agent traces dated {days[0]} ...", flush=True)
    # Every trace starts in the day's first 20 hours, so it ends within the day.
    bodies = request_bodies(spans, seed, 0, latest_start_ns=source.lower_ns + 20 * HOUR_NS, window_seconds=20 * 3600)
    headers = {
        "Content-Type": "application/x-protobuf",
        "Content-Encoding": "gzip",
        "Authorization": f"Bearer {ingest_key}",
    }
    local = threading.local()

    def post(body: bytes) -> int:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session.post(f"{base}/otlp/v1/traces", data=body, headers=headers, timeout=300).status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=posters) as pool:
        statuses = list(pool.map(post, bodies))
    elapsed = time.perf_counter() - started
    stored = Span.objects.count()
    print(
        f"ingest through the server: {stored:,} spans in {elapsed:.1f} s = {stored / elapsed:,.0f} spans/s "
        f"({len([s for s in statuses if s != 200])} failed requests)",
        flush=True,
    )
    # Each trace first and last ingested on its day, as the copies are (its summary moves to the day's partition).
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE traces SET ingested_at = to_timestamp(start_unix_nano / 1e9), last_ingested_at = %s",
            [datetime.fromtimestamp(source.lower_ns / 1e9 + 22 * 3600, tz=UTC)],
        )
    for k in range(1, len(days)):
        copy_started = time.perf_counter()
        copy_day(source.lower_ns, source.upper_ns, k)
        print(f"  SQL copy {k} -> {days[k]}: {time.perf_counter() - copy_started:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def use_database(database_url: str) -> dict[str, str]:
    """Django set up on the database of an earlier run, as it is; the server's env."""
    import django

    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench"),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracefoundry_site.settings")
    django.setup()
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tracefoundry_bench_scale"),
    )
    parser.add_argument("--spans", type=int, default=1_000_000, help="spans ingested through the server, one day")
    parser.add_argument("--copies", type=int, default=9, help="SQL copies of that day into the days before")
    parser.add_argument("--posters", type=int, default=4, help="concurrent posting clients for the ingest")
    parser.add_argument("--live-posters", type=int, default=2, help="clients ingesting during each retention")
    parser.add_argument("--workers", type=int, default=3, help="web server workers (as `make run`)")
    parser.add_argument("--queries", type=int, default=40, help="requests per query benchmark")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--reuse-database", action="store_true", help="keep the stored spans of an earlier run (no ingest, no copies)"
    )
    parser.add_argument("--skip-retention", action="store_true", help="queries and sizes only")
    parser.add_argument(
        "--row-seconds", type=float, default=300, help="stop the row deletes after this long (their rate is printed)"
    )
    args = parser.parse_args()

    env = use_database(args.database_url) if args.reuse_database else prepare_database(args.database_url)
    env["RETENTION_METADATA_DAYS"] = "7"

    from django.contrib.auth.models import Group, User
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from accounts.models import IngestKey
    from traces import partitions, retention
    from traces.models import Span, Trace

    _, ingest_key = IngestKey.issue(f"bench-{time.time_ns()}")
    user, _ = User.objects.get_or_create(username="bench-viewer")
    user.groups.add(Group.objects.get(name="viewer"))
    api_token = Token.objects.get_or_create(user=user)[0].key

    today = datetime.now(UTC).date()
    days = [today - timedelta(days=1 + k) for k in range(args.copies + 1)]
    server, base = start_server(env, args.workers)
    try:
        if not args.reuse_database:
            ingest_and_copy(base, ingest_key, args.spans, args.seed, args.posters, days)
        total = Span.objects.count()
        print(f"\nstored: {total:,} spans ({args.spans:,} ingested, the rest SQL copies with new ids)")
        for line in sizes_per_million():
            print(f"  {line}")

        api = requests.Session()
        api.headers["Authorization"] = f"Token {api_token}"
        scenarios: dict[str, dict[str, str | int]] = {
            "/api/traces": {},
            "/api/traces status=error": {"status": "error"},
            "/api/traces model=gpt-4o": {"model": "gpt-4o"},
            "/api/traces tool=sql": {"tool": "sql"},
            "/api/traces sort=slowest": {"sort": "slowest"},
            "/api/traces sort=most_expensive min_tokens=20000": {"sort": "most_expensive", "min_tokens": 20000},
            "/api/traces min_duration_ms=30000 service": {"min_duration_ms": 30000, "service": "billing-agent"},
            "/api/traces q=sql_lookup": {"q": "sql_lookup"},
        }
        print(f"\nquery latency at {total:,} spans / {Trace.objects.count():,} traces ({args.queries} requests each):")
        for label, params in scenarios.items():
            samples = timed(partial(api.get, f"{base}/api/traces", params=params, timeout=120), args.queries)
            print(f"  {label:55s} {percentiles(samples)}", flush=True)
        sample = list(Trace.objects.order_by("?").values_list("trace_id", flat=True)[: args.queries])
        span_sample = [
            Span.objects.filter(trace_id=trace_id).values_list("span_id", flat=True).first() for trace_id in sample
        ]
        per_item: dict[str, Callable[[str], str]] = {
            "/api/traces/{id}": lambda trace_id: f"{base}/api/traces/{trace_id}",
            "/api/traces/{id}/spans": lambda trace_id: f"{base}/api/traces/{trace_id}/spans",
        }
        for label, url in per_item.items():
            samples = [timed(partial(api.get, url(trace_id), timeout=120), 1)[0] for trace_id in sample]
            print(f"  {label:55s} {percentiles(samples)}", flush=True)
        samples = [timed(partial(api.get, f"{base}/api/spans/{span_id}", timeout=120), 1)[0] for span_id in span_sample]
        print(f"  {'/api/spans/{span_id}':55s} {percentiles(samples)}", flush=True)

        if args.skip_retention:
            return
        # Retention of one day, both ways, while posters keep ingesting new traces.
        now = timezone.now()
        oldest, next_oldest = partitions.partition_for(days[-1]), partitions.partition_for(days[-2])
        print(
            f"\nretention of one day ({days[-1]} by row deletes, {days[-2]} by dropping its partition), "
            f"{args.live_posters} posters ingesting meanwhile:",
            flush=True,
        )
        row_cutoff = datetime.fromtimestamp(oldest.upper_ns / 1e9, tz=UTC)
        in_day = Span.objects.filter(start_unix_nano__gte=oldest.lower_ns, start_unix_nano__lt=oldest.upper_ns)
        day_spans = in_day.count()
        with Poster(base, ingest_key, args.live_posters, args.seed + 1) as poster:
            time.sleep(2)
            rows_started = time.monotonic()
            rows = retention.expire_trace_metadata(
                now=now,
                days=(now - row_cutoff).total_seconds() / 86_400,
                whole_days=False,
                max_seconds=args.row_seconds,
            )
            rows_ended = time.monotonic()
        row_seconds = rows_ended - rows_started
        during = poster.latencies_between(rows_started, rows_ended)
        rate = rows.spans_deleted / row_seconds
        whole = "" if rows.spans_deleted >= day_spans else f", stopped after {args.row_seconds:g} s"
        print(
            f"  row deletes: {rows.spans_deleted:,} spans of the day's {day_spans:,} and {rows.traces_deleted:,} "
            f"traces in {row_seconds:.1f} s ({rows.batches} batches{whole}) = {rate:,.0f} spans/s, so "
            f"{1_000_000 / rate:,.0f} s for 1,000,000 spans; ingest meanwhile: {len(during)} requests, "
            f"{latency(during)}",
            flush=True,
        )
        sent, stored_live = poster.spans_sent, stored_spans_of(poster.trace_ids)
        print(f"    spans sent meanwhile {sent:,}, stored {stored_live:,} (failed requests {poster.failures})")
        started = time.perf_counter()
        rest = retention.expire_trace_metadata(now=now, days=(now - row_cutoff).total_seconds() / 86_400)
        print(
            f"    then the rest of {days[-1]} (and older empty days) as partitions: {rest.partitions_dropped} "
            f"dropped, {rest.spans_deleted:,} spans, {rest.traces_deleted:,} traces, "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )

        retained = list(
            Trace.objects.filter(start_unix_nano__gte=next_oldest.lower_ns, start_unix_nano__lt=next_oldest.upper_ns)
            .order_by("trace_id")
            .values_list("trace_id", flat=True)[:100]
        )
        Trace.objects.filter(trace_id__in=retained).update(last_ingested_at=now)
        kept_spans = Span.objects.filter(trace_id__in=retained).count()
        day_spans = Span.objects.filter(
            start_unix_nano__gte=next_oldest.lower_ns, start_unix_nano__lt=next_oldest.upper_ns
        ).count()
        drop_cutoff = datetime.fromtimestamp(next_oldest.upper_ns / 1e9, tz=UTC)
        with Poster(base, ingest_key, args.live_posters, args.seed + 2) as poster:
            time.sleep(2)
            drop_started = time.monotonic()
            dropped = retention.drop_day(next_oldest, drop_cutoff, 1000)
            drop_seconds = time.monotonic() - drop_started
            time.sleep(1)
        during = poster.latencies_between(drop_started, drop_started + drop_seconds + 1)
        assert dropped is not None, "the locks on spans and traces were not granted in time"
        summaries_kept = Trace.objects.filter(trace_id__in=retained).count()
        print(
            f"  partition drop: {day_spans:,} spans in the day, {dropped.spans_deleted:,} deleted, "
            f"{dropped.spans_kept:,} kept (of {kept_spans:,} in the 100 retained traces, whose summaries "
            f"{summaries_kept} of 100 kept), {dropped.traces_deleted:,} traces deleted; {drop_seconds:.2f} s in "
            f"all, `spans` and `traces` locked {dropped.locked_seconds * 1000:,.0f} ms (detach and put back); "
            f"ingest meanwhile: {len(during)} "
            f"requests, {latency(during)}",
            flush=True,
        )
        sent, stored_live = poster.spans_sent, stored_spans_of(poster.trace_ids)
        print(f"    spans sent meanwhile {sent:,}, stored {stored_live:,} (failed requests {poster.failures})")
        print(f"  1,000,000 spans by row deletes / by partition drop: {1_000_000 / rate / drop_seconds:.1f}x")
    finally:
        server.terminate()
        server.wait(timeout=30)
    subprocess.run(["uptime"], check=False)


if __name__ == "__main__":
    main()

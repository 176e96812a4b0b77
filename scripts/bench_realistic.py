"""`make bench`, realistic spans: the shared corpus of LLM-agent traces (GenAI and OpenInference attributes,
events, exceptions, about 480 bytes a span), replayed into the server and, in the same run, into a Python sink
that only decodes and flattens (the ceiling a Python server on this machine cannot pass).

The corpus tools live beside the repository (`../shared/bench`: `otlp_load.py` builds and replays the corpus,
`sink_server.py` is the sink; see their README). The corpus is built before anything is timed; then it is posted
by `--posters` clients to the server (Granian, as `make run`) on a fresh Postgres database (stored spans checked
in the database), then to the sink, and both spans/s are printed side by side.

    python scripts/bench_realistic.py --database-url postgres://postgres@127.0.0.1:5432/tracefoundry_bench
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import PROJECT_DIR, prepare_database, start_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tracefoundry_bench"),
    )
    parser.add_argument("--corpus-tools", type=Path, default=PROJECT_DIR.parent / "shared" / "bench")
    parser.add_argument("--traces", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=43)
    parser.add_argument("--posters", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3, help="web server workers (as `make run`)")
    args = parser.parse_args()
    tools = args.corpus_tools.resolve()
    if not (tools / "otlp_load.py").is_file():
        raise SystemExit(f"no otlp_load.py in {tools}: put the shared bench folder there or pass --corpus-tools")

    with tempfile.TemporaryDirectory(prefix="tracefoundry-corpus-") as corpus:
        built = load_tool(tools, "--traces", str(args.traces), "--seed", str(args.seed), "--dump", corpus)
        print(
            f"corpus: {built['spans']:,} spans of {args.traces:,} traces in {built['requests']} requests, "
            f"{built['bytes_uncompressed'] / built['spans']:.0f} bytes a span ({built['bytes_gzip'] / 2**20:.1f} "
            "MiB gzipped)",
            flush=True,
        )
        env = prepare_database(args.database_url)
        from accounts.models import IngestKey
        from traces.models import Span

        _, ingest_key = IngestKey.issue("bench")
        server, base = start_server(env, args.workers)
        try:
            stored_run = replay(tools, corpus, f"{base}/otlp/v1/traces", args.posters, f"Bearer {ingest_key}")
        finally:
            server.terminate()
            server.wait(timeout=30)
        stored = Span.objects.count()
        sink_run = replay_into_sink(tools, corpus, args.posters)

    stored_rate = stored / stored_run["wall_s"]
    print(
        f"\nrealistic corpus, {args.posters} posters:\n"
        f"  server (Granian, {args.workers} workers, Postgres): {stored:,} spans stored in "
        f"{stored_run['wall_s']:.1f} s = {stored_rate:,.0f} spans/s "
        f"(target >= 10,000; HTTP statuses {stored_run['http_status']})\n"
        f"  Python decode-and-flatten sink: {sink_run['spans_accepted']:,} spans in "
        f"{sink_run['wall_s']:.1f} s = {sink_run['spans_per_s_accepted']:,.0f} spans/s "
        f"(the server reaches {stored_rate / sink_run['spans_per_s_accepted']:.0%} of it)"
    )


def load_tool(tools: Path, *arguments: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(tools / "otlp_load.py"), *arguments], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"otlp_load.py failed: {done.stderr[-2000:]}{done.stdout[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def replay(tools: Path, corpus: str, url: str, posters: int, authorization: str = "") -> dict:
    header = ["--header", f"Authorization: {authorization}"] if authorization else []
    return load_tool(tools, "--replay", corpus, "--url", url, "--concurrency", str(posters), *header)


def replay_into_sink(tools: Path, corpus: str, posters: int) -> dict:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = subprocess.Popen(
        [sys.executable, str(tools / "sink_server.py"), "--port", str(port), "--mode", "flatten"], cwd=tools
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the sink did not start") from None
                time.sleep(0.2)
        return replay(tools, corpus, f"http://127.0.0.1:{port}/v1/traces", posters)
    finally:
        sink.terminate()
        sink.wait(timeout=30)


if __name__ == "__main__":
    main()

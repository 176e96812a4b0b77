"""`python -m tracefoundry.demo` (or `tracefoundry-demo`): send demo agent traces to a TraceFoundry server."""

import argparse
import os
import sys

from tracefoundry.config import DEFAULT_URL
from tracefoundry.demo.agent import ALL_SCENARIOS
from tracefoundry.demo.load import send_demo_traces


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tracefoundry-demo", description=__doc__)
    parser.add_argument("--traces", type=int, default=50)
    parser.add_argument("--seed", default="1")
    parser.add_argument("--scenario", choices=ALL_SCENARIOS, default="mix")
    parser.add_argument(
        "--url",
        default=os.environ.get("TRACEFOUNDRY_URL", DEFAULT_URL),
        help="server base URL, or an OTLP/HTTP traces URL ending in /v1/traces (a Collector)",
    )
    parser.add_argument("--payload-url", default=None, help="server for payloads when --url is a Collector")
    parser.add_argument("--ingest-key", default=os.environ.get("TRACEFOUNDRY_INGEST_KEY"))
    args = parser.parse_args(argv)
    if not args.ingest_key:
        parser.error("an ingest key is needed: --ingest-key or TRACEFOUNDRY_INGEST_KEY")
    summary = send_demo_traces(
        traces=args.traces,
        seed=args.seed,
        scenario=args.scenario,
        url=args.url,
        ingest_key=args.ingest_key,
        payload_url=args.payload_url,
        progress=lambda done, total: print(f"\r{done}/{total} runs", end="", file=sys.stderr, flush=True),
    )
    print(file=sys.stderr)
    print(
        f"{summary.traces} traces, {summary.spans_exported} spans sent, {summary.spans_failed} refused, "
        f"payloads uploaded {summary.payloads.uploaded}, failed {summary.payloads.failed}"
    )
    return 0 if summary.spans_failed == 0 and summary.payloads.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

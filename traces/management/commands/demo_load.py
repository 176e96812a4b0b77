"""`manage.py demo_load`: send seeded demo agent traces to a running TraceFoundry over OTLP/HTTP.

The runs come from the SDK's demo agent (`tracefoundry.demo`). Against the local server (a loopback URL)
without `--ingest-key`, the command issues a temporary ingest key in this installation's database and
deletes it when the load is done, so the server at `--url` must use the same database; it then also reports
the payloads from that database (which the spans name, which are stored), not from the uploader's counters,
which count upload attempts: content dropped from a full upload queue is often stored through another span
naming the same bytes.
"""

import sys
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tracefoundry.demo import ALL_SCENARIOS, send_demo_traces
from tracefoundry.demo.load import SERVICE_NAME, LoadSummary, endpoints

from accounts.models import IngestKey
from payloads import refs
from payloads.models import PayloadBlob
from traces.models import Span

DEFAULT_URL = "http://127.0.0.1:8000"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_BAR_WIDTH = 30
_REF_PREFIX = "tracefoundry.payload."


class Command(BaseCommand):
    help = "Send demo agent traces (every scenario, planted fake secrets) to a running TraceFoundry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--traces", type=int, default=50, help="how many agent runs to send (default 50)")
        parser.add_argument("--seed", default="1", help="same seed, same traces: a re-run adds nothing")
        parser.add_argument("--scenario", choices=ALL_SCENARIOS, default="mix")
        parser.add_argument(
            "--url",
            default=DEFAULT_URL,
            help="server base URL, or an OTLP/HTTP traces URL ending in /v1/traces to go through a Collector",
        )
        parser.add_argument(
            "--payload-url",
            default=None,
            help="server that takes payload uploads when --url is a Collector (default: local)",
        )
        parser.add_argument(
            "--ingest-key",
            default=None,
            help="ingest key to send with (default: a temporary key, local server only)",
        )

    def handle(self, *args: object, **options: object) -> None:
        traces = int(str(options["traces"]))
        if traces < 1:
            raise CommandError("--traces must be at least 1")
        url = str(options["url"])
        payload_url = str(options["payload_url"]) if options["payload_url"] else None
        otlp_endpoint, server = endpoints(url, payload_url)
        # Straight to TraceFoundry: its login page answers GET; a Collector's receiver answers GET with 405.
        direct = otlp_endpoint.startswith(f"{server}/")
        _check_reachable(f"{server}/accounts/login/" if direct else otlp_endpoint)
        ingest_key = str(options["ingest_key"]) if options["ingest_key"] else None
        temporary: IngestKey | None = None
        if ingest_key is None:
            if urlsplit(server).hostname not in _LOOPBACK:
                raise CommandError("--ingest-key is needed for a server that is not on this machine")
            temporary, ingest_key = IngestKey.issue(f"demo-load {datetime.now(UTC):%Y-%m-%d %H:%M:%S.%f}")
        try:
            summary = send_demo_traces(
                traces=traces,
                seed=str(options["seed"]),
                scenario=str(options["scenario"]),
                url=url,
                ingest_key=ingest_key,
                payload_url=payload_url,
                progress=_progress,
            )
        finally:
            if temporary is not None:
                temporary.delete()  # nobody else ever held it: nothing to keep for the record
        self._report(summary, url, server, stored_payloads(summary.trace_ids) if temporary is not None else None)
        if summary.spans_failed:
            raise CommandError(f"{summary.spans_failed} spans were refused or not delivered (see the log above)")

    def _report(self, summary: LoadSummary, url: str, server: str, stored: tuple[int, int] | None) -> None:
        scenarios = ", ".join(f"{name} {count}" for name, count in sorted(summary.scenarios.items()))
        payloads = summary.payloads
        if stored is None:
            payload_line = (
                f"  payloads: {payloads.uploaded} uploaded, {payloads.retried} retried, "
                f"{payloads.failed} failed, {payloads.dropped} dropped"
            )
        else:
            named, present = stored
            payload_line = (
                f"  payloads: {present} of {named} named by the spans stored, {named - present} missing "
                f"({payloads.uploaded} uploaded by this run, {payloads.retried} retried)"
            )
        lines = [
            f"Sent {summary.traces} traces (seed {summary.seed}) to {url} in {summary.seconds:.1f} s",
            f"  spans: {summary.spans_exported} delivered, {summary.spans_failed} refused or lost",
            f"  scenarios: {scenarios}",
            f"  runs ending in an error: {summary.errors}",
            f"  tokens: {summary.input_tokens} in, {summary.output_tokens} out; cost ${summary.cost_usd:.4f}",
            payload_line,
            f"Explorer: {server}/?service={SERVICE_NAME}",
        ]
        if summary.trace_ids:
            lines.append(f"First trace: {server}/trace/?id={summary.trace_ids[0]}")
        self.stdout.write("\n".join(lines))


def stored_payloads(trace_ids: list[str]) -> tuple[int, int]:
    """(distinct payloads the traces' spans name, how many of them are stored), from this database."""
    named: set[str] = set()
    for attributes in Span.objects.filter(trace_id__in=trace_ids).values_list("attributes", flat=True).iterator():
        named.update(
            sha256
            for key, value in attributes.items()
            if refs.ref_role(key) and (sha256 := refs.sha256_of_value(value))
        )
    return len(named), PayloadBlob.objects.filter(sha256__in=named).count()


def _progress(done: int, total: int) -> None:
    filled = _BAR_WIDTH * done // total
    sys.stderr.write(f"\r[{'#' * filled}{'-' * (_BAR_WIDTH - filled)}] {done}/{total} traces")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _check_reachable(otlp_endpoint: str) -> None:
    # Fail fast with a hint instead of letting the exporter retry for minutes against nothing.
    try:
        requests.get(otlp_endpoint, timeout=5)
    except requests.RequestException as exc:
        raise CommandError(
            f"cannot reach {otlp_endpoint} ({type(exc).__name__}); is the server running (make run)?"
        ) from exc

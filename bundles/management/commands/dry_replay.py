"""`manage.py dry_replay <trace_id|FILE>`: check a stored trace or a bundle file; writes nothing.

Exits with status 1 when a check fails, so scripts and CI can rely on it.
"""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bundles.archive import BundleRefused
from bundles.contracts import ReplayReport
from bundles.dry_replay import dry_replay_bundle, dry_replay_stored
from payloads.contracts import parse_trace_id
from traces.models import Trace


class Command(BaseCommand):
    help = "Dry-replay a stored trace (by id) or a bundle file: tree, payloads, hashes, timing, agent re-run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("subject", help="a stored trace id (32 hex) or the path of a bundle zip")
        parser.add_argument("--tolerance-ms", type=float, default=1.0, help="timing tolerance (default 1 ms)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        subject = str(options["subject"])
        tolerance_ns = int(options["tolerance_ms"] * 1_000_000)
        path = Path(subject)
        if path.is_file():
            with path.open("rb") as upload:
                try:
                    report = dry_replay_bundle(upload, path.stat().st_size, tolerance_ns)
                except BundleRefused as exc:
                    raise CommandError(str(exc)) from exc
        elif parse_trace_id(subject):
            try:
                report = dry_replay_stored(subject.lower(), tolerance_ns)
            except Trace.DoesNotExist as exc:
                raise CommandError(f"no such trace: {subject}") from exc
        else:
            raise CommandError(f"{subject} is neither a file nor a trace id (32 hex characters)")
        self.stdout.write(json.dumps(report.as_dict(), indent=2) if options["json"] else _text(report))
        if not report.ok:
            raise CommandError("dry replay found problems (see the report above)")


def _text(report: ReplayReport) -> str:
    lines = [f"Dry replay of {report.subject} trace {report.trace_id} ({report.span_count} spans)"]
    for check in report.checks:
        mark = "SKIP" if check.skipped else "ok  " if check.ok else "FAIL"
        lines.append(f"  {mark} {check.name}: {check.detail}")
        lines += [f"         - {finding}" for finding in check.findings]
    lines.append("Result: " + ("all checks passed" if report.ok else "problems found"))
    return "\n".join(lines)

"""`manage.py export_trace <trace_id> [-o FILE] [--payloads] [--redaction MODE]`: a bundle without HTTP."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bundles.exports import export_trace
from bundles.format import export_options_problem
from payloads.contracts import RedactionMode
from traces.models import Trace


class Command(BaseCommand):
    help = "Export one stored trace as a bundle zip (manifest, OTLP/JSON spans, payloads, README)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("trace_id", help="32 hex characters")
        parser.add_argument("-o", "--output", help="where to write the zip (default: trace-<id>-<mode>.tfbundle.zip)")
        parser.add_argument("--payloads", action="store_true", help="include payload contents (not with strict)")
        parser.add_argument(
            "--redaction", choices=RedactionMode.values, default=RedactionMode.STRICT.value, help="default: strict"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        trace_id = str(options["trace_id"]).lower()
        problem = export_options_problem(options["payloads"], options["redaction"])
        if problem:
            raise CommandError(problem)
        try:
            bundle = export_trace(trace_id, include_payloads=options["payloads"], redaction=options["redaction"])
        except Trace.DoesNotExist as exc:
            raise CommandError(f"no such trace: {trace_id}") from exc
        output = Path(options["output"] or bundle.filename)
        output.write_bytes(bundle.content)
        manifest = bundle.manifest
        self.stdout.write(
            f"Wrote {output} ({len(bundle.content)} bytes): {manifest.span_count} spans, "
            f"{len(manifest.payload_entries)} payloads, redaction {manifest.redaction}"
        )

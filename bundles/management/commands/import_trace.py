"""`manage.py import_trace FILE`: verify a bundle, then store its trace (tagged bundle_import)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bundles.archive import BundleRefused
from bundles.imports import ImportConflict, import_bundle


class Command(BaseCommand):
    help = "Import a bundle zip after checking every hash; nothing is stored if anything is wrong."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the bundle zip")
        parser.add_argument(
            "--as-new-trace",
            action="store_true",
            help="import under a new random trace id (printed), even if the bundle's trace id is stored",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        with path.open("rb") as upload:
            try:
                result = import_bundle(upload, path.stat().st_size, as_new_trace=options["as_new_trace"])
            except BundleRefused as exc:
                raise CommandError(str(exc)) from exc
            except ImportConflict as exc:
                raise CommandError("\n  ".join([f"{exc} (--as-new-trace)", *exc.differences])) from exc
        state = "imported" if result.created else "already stored, nothing changed"
        if result.trace_id != result.original_trace_id:
            state += f" under a new trace id (the bundle's is {result.original_trace_id})"
        self.stdout.write(
            f"Trace {result.trace_id}: {state} ({result.span_count} spans, {result.payload_count} payloads, "
            f"redaction {result.redaction})"
        )

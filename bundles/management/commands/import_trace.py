"""`manage.py import_trace FILE`: verify a bundle, then store its trace (tagged bundle_import)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bundles.archive import BundleRefused
from bundles.imports import import_bundle


class Command(BaseCommand):
    help = "Import a bundle zip after checking every hash; nothing is stored if anything is wrong."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the bundle zip")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        with path.open("rb") as upload:
            try:
                result = import_bundle(upload, path.stat().st_size)
            except BundleRefused as exc:
                raise CommandError(str(exc)) from exc
        state = "imported" if result.created else "already stored, nothing changed"
        self.stdout.write(
            f"Trace {result.trace_id}: {state} ({result.span_count} spans, {result.payload_count} payloads, "
            f"redaction {result.redaction})"
        )

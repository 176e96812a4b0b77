"""`manage.py run_retention [--dry-run]`: run retention now (what beat schedules) and print the counts."""

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from payloads import retention as payload_retention
from traces import retention
from traces.log_ingest import expire_pending_records


class Command(BaseCommand):
    help = (
        "Delete trace metadata older than RETENTION_METADATA_DAYS and payloads older than "
        "RETENTION_PAYLOAD_DAYS, in batches of RETENTION_BATCH_SIZE; print what was (or, with --dry-run, "
        "would be) deleted."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count what is past its age; delete nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options["dry_run"]
        verb = "would delete" if dry_run else "deleted"
        metadata = retention.expire_trace_metadata(dry_run=dry_run)
        self.stdout.write(
            f"traces older than {settings.RETENTION_METADATA_DAYS:g} days"
            f" (before {metadata.cutoff:%Y-%m-%d %H:%M} UTC):"
            f" {verb} {metadata.traces_deleted} traces, {metadata.spans_deleted} spans"
        )
        if metadata.partitions_dropped:
            dropped = "would drop" if dry_run else "dropped"
            self.stdout.write(
                f"day partitions of spans past the cutoff: {dropped} {metadata.partitions_dropped}"
                + ("" if dry_run else f" (spans of retained traces kept: {metadata.spans_kept_from_dropped_days})")
            )
        if not dry_run:
            pending = expire_pending_records()
            self.stdout.write(f"log records that waited too long for their span: deleted {pending}")
        # After metadata: blobs whose last spans were just deleted are swept in the same run.
        payloads = payload_retention.expire_payloads(dry_run=dry_run)
        self.stdout.write(
            f"payloads older than {settings.RETENTION_PAYLOAD_DAYS:g} days"
            f" (before {payloads.cutoff:%Y-%m-%d %H:%M} UTC):"
            f" {verb} {payloads.refs_deleted} payload refs, {payloads.blobs_deleted} blobs,"
            f" {payloads.orphan_files_deleted} orphan payload files"
        )

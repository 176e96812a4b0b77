"""Retention of payloads: the refs of spans older than RETENTION_PAYLOAD_DAYS go, then the blobs nothing
references any more, in bounded batches (RETENTION_BATCH_SIZE rows), each batch its own short transaction.

The span keeps its `tracefoundry.payload.<role>_ref` attribute, so the trace still opens and shows that payload as
expired (a ref attribute without a ref row). Blobs nothing references (for whichever reason: this, or metadata
retention in `traces.retention` deleting spans) leave their table and, unless their bytes were inline in their
row, the payload storage; last, objects in the payload storage that no row names and that are older than the same
grace period go too (`payloads.orphans`). Payload expiry changes no trace summary: summaries hold no payload data.

The age of a ref is its span's, read through the ref's relation to the span (the ORM join; nothing of `traces` is
imported). Also the clock and budget helpers both retention modules share.
"""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, ProtectedError
from django.utils import timezone

from payloads.models import PayloadBlob, SpanPayloadRef
from payloads.orphans import sweep_orphan_files
from payloads.storage import payload_storage

_NANOS_PER_SECOND = 1_000_000_000
# An unreferenced blob younger than this is left alone: an ingest may be about to reference it again.
UNREFERENCED_BLOB_GRACE = timedelta(hours=1)


def cutoff_for(days: float, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=days)


def unix_nanos(moment: datetime) -> int:
    return int(moment.timestamp()) * _NANOS_PER_SECOND + moment.microsecond * 1000


def task_budget_seconds() -> float:
    """How long a scheduled run may take: a little under the beat interval, so runs never pile up (what is left
    over is taken by the next run)."""
    return max(settings.RETENTION_INTERVAL_MINUTES * 60 * 0.9, 1.0)


def within_budget(started: float, max_seconds: float | None, batches: int, max_batches: int | None) -> bool:
    """Whether a run that started at `started` (time.monotonic) may take one more batch."""
    in_time = max_seconds is None or time.monotonic() - started < max_seconds
    return in_time and (max_batches is None or batches < max_batches)


@dataclass(frozen=True)
class PayloadExpiry:
    """What payload retention deleted (or, in a dry run, would delete)."""

    cutoff: datetime
    refs_deleted: int
    blobs_deleted: int
    batches: int
    dry_run: bool
    # Objects in the payload storage that no blob row referenced (left by refused batches or crashes).
    orphan_files_deleted: int = 0


def expire_payloads(
    *,
    now: datetime | None = None,
    days: float | None = None,
    batch_size: int | None = None,
    dry_run: bool = False,
    max_seconds: float | None = None,
    max_batches: int | None = None,
    unreferenced_grace: timedelta = UNREFERENCED_BLOB_GRACE,
) -> PayloadExpiry:
    """Delete the payload refs of spans older than `days`, then the blobs nothing references any more.

    Blobs are swept whatever made them unreferenced (this, or metadata retention deleting spans), once their
    `last_referenced_at` is older than `unreferenced_grace`.
    """
    current = now or timezone.now()
    cutoff = cutoff_for(settings.RETENTION_PAYLOAD_DAYS if days is None else days, current)
    cutoff_ns = unix_nanos(cutoff)
    grace_cutoff = current - unreferenced_grace
    size = batch_size or settings.RETENTION_BATCH_SIZE
    old_refs = SpanPayloadRef.objects.filter(
        # The trace condition is implied by the span's (a trace starts with its oldest span); it lets the
        # database find old spans through the traces' start-time index.
        span__trace__start_unix_nano__lt=cutoff_ns,
        span__start_unix_nano__lt=cutoff_ns,
    )
    if dry_run:
        young_refs = SpanPayloadRef.objects.filter(blob=OuterRef("pk"), span__start_unix_nano__gte=cutoff_ns)
        sweepable = PayloadBlob.objects.filter(~Exists(young_refs), last_referenced_at__lt=grace_cutoff)
        return PayloadExpiry(cutoff, old_refs.count(), sweepable.count(), 0, dry_run=True)
    started = time.monotonic()
    refs_deleted = blobs_deleted = batches = 0
    while within_budget(started, max_seconds, batches, max_batches):
        with transaction.atomic():
            ids = list(old_refs.order_by().values_list("id", flat=True)[:size])
            deleted = SpanPayloadRef.objects.filter(id__in=ids).delete()[0] if ids else 0
        if not deleted:
            break
        refs_deleted += deleted
        batches += 1
    while within_budget(started, max_seconds, batches, max_batches):
        swept = _sweep_unreferenced_blobs(grace_cutoff, size)
        if swept is None:
            break
        blobs_deleted += swept
        batches += 1
    orphan_files = sweep_orphan_files(grace_cutoff, size) if within_budget(started, max_seconds, 0, None) else 0
    return PayloadExpiry(cutoff, refs_deleted, blobs_deleted, batches, dry_run=False, orphan_files_deleted=orphan_files)


def _sweep_unreferenced_blobs(grace_cutoff: datetime, size: int) -> int | None:
    """Delete one batch of unreferenced blobs (rows, and the storage objects of those not inline); None when
    there is none left.

    Why this order: the rows are locked, deleted and the reference constraint checked before any object
    leaves the storage, and the objects go before the commit. An ingest that references one of these blobs
    meanwhile either committed first (the constraint check fails, this batch rolls back and nothing is
    removed) or waits on the row lock and then fails on the missing row, so its sender retries and stores the
    bytes again. A blob row therefore never outlives its bytes because of retention.
    """
    refs = SpanPayloadRef.objects.filter(blob=OuterRef("pk"))
    try:
        with transaction.atomic():
            candidates = list(
                PayloadBlob.objects.select_for_update(skip_locked=True)
                .filter(~Exists(refs), last_referenced_at__lt=grace_cutoff)
                .order_by("sha256")
                .values_list("sha256", "storage_key")[:size]
            )
            if not candidates:
                return None
            deleted = PayloadBlob.objects.filter(sha256__in=[sha for sha, _ in candidates]).delete()[0]
            connection.check_constraints(table_names=[SpanPayloadRef._meta.db_table])
            storage = payload_storage()
            for key in (key for _, key in candidates if key):  # an inline blob's bytes went with its row
                storage.delete(key)
    except (IntegrityError, ProtectedError):
        # A reference arrived after the candidates were chosen; the next batch re-reads what is unreferenced.
        return 0
    return deleted

"""Payload bytes that no `payload_blobs` row references: removed when their batch is refused, and swept.

Large blobs are written to the payload storage before the transaction that inserts their rows (so no storage
round trip happens while trace rows are locked). When that transaction fails, `discard_unreferenced` removes
the bytes the batch wrote, unless a row references them by then (a concurrent batch committed the same content).
Whatever escapes that (a process killed between the write and the commit, a refusal inside an outer transaction
that later rolls back) is found by `sweep_orphan_files`, which retention runs: every stored object older than a
grace period (so batches still in flight keep theirs) with no row naming it is deleted, temporary files of
interrupted writes included.

Known limit: a batch refused while a concurrent batch with the same large content is between its write and its
commit can remove bytes that batch is about to reference; reading that payload then reports it missing, and the
next batch carrying the same content does not write it again (its row exists). The window is the few
milliseconds of one insert.
"""

import logging
import re
from collections.abc import Iterable
from datetime import datetime

from django.db import DatabaseError
from django.db.transaction import TransactionManagementError

from payloads import storage
from payloads.models import PayloadBlob

logger = logging.getLogger(__name__)
_HEX = re.compile(r"[0-9a-f]{64}")


def discard_unreferenced(written: dict[str, str]) -> int:
    """Delete the stored objects (`{sha256: storage key}`) that no blob row references; how many went."""
    if not written:
        return 0
    try:
        referenced = set(
            PayloadBlob.objects.filter(sha256__in=list(written)).values_list("sha256", "storage_key").iterator()
        )
    except (DatabaseError, TransactionManagementError):
        # Inside a transaction that is already broken nothing can be read: the sweep removes them later.
        logger.warning("%d payload object(s) of a refused batch left for the orphan sweep", len(written))
        return 0
    backend = storage.payload_storage()
    orphans = [key for sha, key in written.items() if (sha, key) not in referenced]
    for key in orphans:
        backend.delete(key)
    return len(orphans)


def sweep_orphan_files(older_than: datetime, batch_size: int) -> int:
    """Delete every stored object older than `older_than` that no blob row references; how many went."""
    deleted = 0
    for batch in _batches(storage.stored_objects(older_than), batch_size):
        by_sha = {_sha_of(key): key for key in batch}
        referenced = set(
            PayloadBlob.objects.filter(sha256__in=[sha for sha in by_sha if sha]).values_list("storage_key", flat=True)
        )
        backend = storage.payload_storage()
        for key in batch:
            if key not in referenced:
                backend.delete(key)
                deleted += 1
    if deleted:
        logger.info("orphan sweep: %d payload object(s) without a row deleted", deleted)
    return deleted


def _sha_of(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    return name if _HEX.fullmatch(name) else ""


def _batches(keys: Iterable[str], size: int) -> Iterable[list[str]]:
    batch: list[str] = []
    for key in keys:
        batch.append(key)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch

"""Payload blobs (content-addressed, stored once) and the links from spans to them.

A blob's key is the sha256 of its redacted, uncompressed content; its bytes are zstd-compressed when that is
smaller and live in exactly one place (a check constraint says so): in the row itself (`inline_data`, for
blobs of at most PAYLOAD_INLINE_MAX_BYTES encoded bytes) or in the payload storage (filesystem or S3) under
`storage_key`. Stored bytes are written before their row, so a row always points at a stored blob.
"""

from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import Exact
from django.utils import timezone

from payloads.contracts import RedactionMode
from payloads.refs import ref_value


class Compression(models.TextChoices):
    ZSTD = "zstd"
    NONE = "none"


class PayloadBlob(models.Model):
    sha256 = models.CharField(max_length=64, primary_key=True)
    size_bytes = models.BigIntegerField()
    stored_size_bytes = models.BigIntegerField()
    compression = models.CharField(max_length=8, choices=Compression.choices)
    content_type = models.CharField(max_length=100)
    redaction_mode = models.CharField(max_length=16, choices=RedactionMode.choices)
    # "" when the bytes are inline.
    storage_key = models.CharField(max_length=255)
    # The encoded bytes of a small blob: one file per small blob costs more to write than the rest of ingest.
    # Null when the bytes are in the payload storage.
    inline_data = models.BinaryField(null=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_referenced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "payload_blobs"
        indexes = [models.Index(fields=["last_referenced_at"], name="payload_blobs_retention_idx")]
        constraints = [
            # 64 characters, none of them outside 0-9a-f. Not `^[0-9a-f]{64}$`: Postgres checks that bounded
            # repetition ~10x slower, a quarter of the cost of inserting a blob row (and on SQLite, Python's `$`
            # lets a trailing newline through).
            models.CheckConstraint(
                condition=models.Q(Exact(Length("sha256"), 64)) & ~models.Q(sha256__regex=r"[^0-9a-f]"),
                name="payload_blobs_sha256_hex",
            ),
            models.CheckConstraint(
                condition=models.Q(size_bytes__gte=0, stored_size_bytes__gte=0),
                name="payload_blobs_sizes_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(inline_data__isnull=True, storage_key__gt="")
                | models.Q(inline_data__isnull=False, storage_key=""),
                name="payload_blobs_bytes_in_one_place",
            ),
        ]

    def __str__(self) -> str:
        return f"{ref_value(self.sha256)} ({self.size_bytes} bytes, {self.content_type})"


class SpanPayloadRef(models.Model):
    # Indexes are few on purpose (every one costs ingest time): span_payload_refs_unique serves lookups by span,
    # and the blob index is a plain one (no second, pattern-matching copy for a key that is never LIKE-searched).
    # No database constraint to spans either: refs are only inserted with their span, in its transaction, and
    # span deletes cascade through the ORM. (The blob constraint stays: payload retention relies on it.)
    span = models.ForeignKey(
        "traces.Span", on_delete=models.CASCADE, related_name="payload_refs", db_index=False, db_constraint=False
    )
    blob = models.ForeignKey(
        PayloadBlob, on_delete=models.PROTECT, related_name="span_refs", db_column="sha256", db_index=False
    )
    role = models.CharField(max_length=64)
    # The span attribute (or flattened key glob, or "events") the content came from.
    attribute = models.CharField(max_length=255)

    class Meta:
        db_table = "span_payload_refs"
        constraints = [
            models.UniqueConstraint(fields=["span", "role", "attribute"], name="span_payload_refs_unique"),
        ]
        indexes = [models.Index(fields=["blob"], name="span_payload_refs_blob_idx")]

    def __str__(self) -> str:
        return f"span {self.span_id} {self.role} -> sha256:{self.blob_id}"

"""Payload blobs (content-addressed, stored once) and the links from spans to them.

A blob's key is the sha256 of its redacted, uncompressed content; the bytes live in the payload storage
(filesystem or S3) under `storage_key`, zstd-compressed when that is smaller. Rows are written after the
bytes are stored, so a row always points at a stored blob.
"""

from django.db import models
from django.utils import timezone


class Compression(models.TextChoices):
    ZSTD = "zstd"
    NONE = "none"


class RedactionModeChoice(models.TextChoices):
    OFF = "off"
    STANDARD = "standard"
    STRICT = "strict"


class PayloadBlob(models.Model):
    sha256 = models.CharField(max_length=64, primary_key=True)
    size_bytes = models.BigIntegerField()
    stored_size_bytes = models.BigIntegerField()
    compression = models.CharField(max_length=8, choices=Compression.choices)
    content_type = models.CharField(max_length=100)
    redaction_mode = models.CharField(max_length=16, choices=RedactionModeChoice.choices)
    storage_key = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    last_referenced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "payload_blobs"
        indexes = [models.Index(fields=["last_referenced_at"], name="payload_blobs_retention_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$"), name="payload_blobs_sha256_hex"
            ),
            models.CheckConstraint(
                condition=models.Q(size_bytes__gte=0, stored_size_bytes__gte=0),
                name="payload_blobs_sizes_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"sha256:{self.sha256} ({self.size_bytes} bytes, {self.content_type})"


class SpanPayloadRef(models.Model):
    span = models.ForeignKey("traces.Span", on_delete=models.CASCADE, related_name="payload_refs")
    blob = models.ForeignKey(PayloadBlob, on_delete=models.PROTECT, related_name="span_refs", db_column="sha256")
    role = models.CharField(max_length=64)
    # The span attribute (or flattened key glob, or "events") the content came from.
    attribute = models.CharField(max_length=255)

    class Meta:
        db_table = "span_payload_refs"
        constraints = [
            models.UniqueConstraint(fields=["span", "role", "attribute"], name="span_payload_refs_unique"),
        ]

    def __str__(self) -> str:
        return f"span {self.span_id} {self.role} -> sha256:{self.blob_id}"

"""Ingest keys: the bearer credentials collectors and SDKs present to `/otlp/v1/traces`.

Only a SHA-256 of the key is stored; the key itself is shown once, when it is created.
"""

import hashlib
import secrets

from django.db import models
from django.utils import timezone

INGEST_KEY_PREFIX = "tfi_"


def hash_ingest_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


class IngestKeyQuerySet(models.QuerySet["IngestKey"]):
    def active(self) -> "IngestKeyQuerySet":
        return self.filter(revoked_at__isnull=True)


class IngestKey(models.Model):
    name = models.CharField(max_length=100, unique=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(max_length=12, editable=False, help_text="First characters, to recognise a key.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = IngestKeyQuerySet.as_manager()

    class Meta:
        db_table = "ingest_keys"

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"{self.name} ({self.key_prefix}…, {state})"

    @classmethod
    def issue(cls, name: str) -> tuple["IngestKey", str]:
        """Create a key and return it with the raw secret, which is never stored."""
        key = cls(name=name)
        raw_key = key.set_new_secret()
        key.save()
        return key, raw_key

    def set_new_secret(self) -> str:
        """Give this (unsaved) key a new secret and return it; only its hash and prefix are kept."""
        raw_key = INGEST_KEY_PREFIX + secrets.token_urlsafe(32)
        self.key_hash = hash_ingest_key(raw_key)
        self.key_prefix = raw_key[:12]
        return raw_key

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])

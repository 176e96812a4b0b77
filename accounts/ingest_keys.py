"""Checking the ingest key an OTLP client presents as `Authorization: Bearer <key>`."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import IngestKey, hash_ingest_key

# last_used_at is a hint for admins; writing it on every request would put a write on the hot path.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def authenticate_ingest_key(authorization_header: str) -> IngestKey | None:
    scheme, _, raw_key = authorization_header.partition(" ")
    raw_key = raw_key.strip()
    if scheme.lower() != "bearer" or not raw_key:
        return None
    key = IngestKey.objects.active().filter(key_hash=hash_ingest_key(raw_key)).first()
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
        IngestKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key

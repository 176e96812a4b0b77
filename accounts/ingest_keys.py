"""Checking the ingest key an OTLP client presents as `Authorization: Bearer <key>` (or, for the Langfuse SDKs,
as the password of HTTP Basic)."""

import base64
import binascii
from datetime import timedelta

from django.utils import timezone

from accounts.models import IngestKey, hash_ingest_key

# last_used_at is a hint for admins; writing it on every request would put a write on the hot path.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def authenticate_ingest_key(authorization_header: str, basic: bool = False) -> IngestKey | None:
    """The active key named by the header; with `basic`, HTTP Basic is accepted too: the Langfuse SDKs send their
    public key as user name (ignored) and their secret key, here an ingest key, as password."""
    scheme, _, credentials = authorization_header.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        raw_key = credentials
    elif basic and scheme.lower() == "basic":
        raw_key = _basic_password(credentials)
    else:
        return None
    if not raw_key:
        return None
    key = IngestKey.objects.active().filter(key_hash=hash_ingest_key(raw_key)).first()
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
        IngestKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def _basic_password(credentials: str) -> str:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[2]

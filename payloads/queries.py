"""Reads of payload refs and contents for the API, in bulk (one query for any number of spans).

Callers check the caller's rights first: refs (role, size, public ref, content type) are for everyone who may
see the span; `payload_content` (with the content hash) is for roles allowed to read payload contents.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from payloads import storage
from payloads.models import PayloadBlob, SpanPayloadRef
from payloads.refs import public_value, refs_of


@dataclass(frozen=True, slots=True)
class PayloadContent:
    sha256: str
    content_type: str
    size_bytes: int
    redaction_mode: str
    content: str

    @property
    def ref(self) -> str:
        return public_value(self.sha256)


def refs_for_spans(span_pks: list[int]) -> dict[int, list[dict[str, Any]]]:
    """`payload_refs` of each span (by Span primary key), in role order; spans without refs are absent."""
    if not span_pks:
        return {}
    return _refs_by_span(SpanPayloadRef.objects.filter(span_id__in=span_pks))


def _refs_by_span(refs_query: QuerySet[SpanPayloadRef]) -> dict[int, list[dict[str, Any]]]:
    refs: dict[int, list[dict[str, Any]]] = {}
    rows = refs_query.order_by("span_id", "role", "attribute").values_list(
        "span_id", "role", "attribute", "blob_id", "blob__size_bytes", "blob__content_type"
    )
    for span_pk, role, attribute, sha256, size_bytes, content_type in rows:
        refs.setdefault(span_pk, []).append(
            {
                "ref": public_value(sha256),
                "role": role,
                "attribute": attribute,
                "size_bytes": size_bytes,
                "content_type": content_type,
                "status": "stored",
            }
        )
    return refs


def unlinked_refs(
    attributes: dict[str, Any], linked: list[dict[str, Any]], span_age_days: float
) -> list[dict[str, Any]]:
    """Refs the span names (`tracefoundry.payload.<role>_ref`) with no stored content behind them: `expired`
    when the span is older than the payload retention (retention deleted it), else `missing` (never stored)."""
    linked_refs = {item["ref"] for item in linked}
    status = "expired" if span_age_days > settings.RETENTION_PAYLOAD_DAYS else "missing"
    return [
        {
            "ref": public_value(ref.sha256),
            "role": ref.role,
            "attribute": ref.attribute,
            "size_bytes": ref.size,
            "content_type": None,
            "status": status,
        }
        for ref in sorted(refs_of(attributes), key=lambda ref: ref.attribute)
        if public_value(ref.sha256) not in linked_refs
    ]


def payload_content(sha256: str) -> PayloadContent:
    """The verified content of a blob. PayloadBlob.DoesNotExist if unknown; storage.PayloadUnavailable if its
    bytes are missing or corrupted (never returned then)."""
    blob = PayloadBlob.objects.get(sha256=sha256)
    content = storage.read_content(blob)
    return PayloadContent(
        sha256=blob.sha256,
        content_type=blob.content_type,
        size_bytes=blob.size_bytes,
        redaction_mode=blob.redaction_mode,
        content=content.decode("utf-8", errors="replace"),
    )


def payload_texts(sha256s: set[str], max_bytes: int) -> dict[str, str]:
    """The verified contents of many blobs in one query, as text; blobs over `max_bytes`, unknown or whose bytes
    are missing or corrupted are left out (callers say "unavailable" for them)."""
    texts: dict[str, str] = {}
    for blob in PayloadBlob.objects.filter(sha256__in=sha256s, size_bytes__lte=max_bytes):
        try:
            texts[blob.sha256] = storage.read_content(blob).decode("utf-8", errors="replace")
        except storage.PayloadUnavailable:
            continue
    return texts

"""Reads of payload refs and contents for the API, in bulk (one query for any number of spans).

Callers check the caller's rights first: refs (role, size, hash, content type) are for everyone who may see
the span; `payload_content` is for roles allowed to read payload contents.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from payloads import storage
from payloads.hashing import ref_of
from payloads.models import PayloadBlob, SpanPayloadRef


@dataclass(frozen=True, slots=True)
class PayloadContent:
    sha256: str
    content_type: str
    size_bytes: int
    redaction_mode: str
    content: str

    @property
    def ref(self) -> str:
        return ref_of(self.sha256)


def refs_for_spans(span_pks: list[int]) -> dict[int, list[dict[str, Any]]]:
    """`payload_refs` of each span (by Span primary key), in role order; spans without refs are absent."""
    if not span_pks:
        return {}
    return _refs_by_span(SpanPayloadRef.objects.filter(span_id__in=span_pks))


def refs_for_trace(trace_id: str) -> dict[int, list[dict[str, Any]]]:
    """`payload_refs` of every span of a trace, by Span primary key (one query, no list of span keys)."""
    return _refs_by_span(SpanPayloadRef.objects.filter(span__trace_id=trace_id))


def _refs_by_span(refs_query: QuerySet[SpanPayloadRef]) -> dict[int, list[dict[str, Any]]]:
    refs: dict[int, list[dict[str, Any]]] = {}
    rows = refs_query.order_by("span_id", "role", "attribute").values_list(
        "span_id", "role", "attribute", "blob_id", "blob__size_bytes", "blob__content_type"
    )
    for span_pk, role, attribute, sha256, size_bytes, content_type in rows:
        refs.setdefault(span_pk, []).append(
            {
                "ref": ref_of(sha256),
                "role": role,
                "attribute": attribute,
                "size_bytes": size_bytes,
                "content_type": content_type,
                "sha256": sha256,
                "status": "stored",
            }
        )
    return refs


_REF_PREFIX = "tracefoundry.payload."
_REF_SUFFIX = "_ref"


def unlinked_refs(
    attributes: dict[str, Any], linked: list[dict[str, Any]], span_age_days: float
) -> list[dict[str, Any]]:
    """Refs the span names (`tracefoundry.payload.<role>_ref`) with no stored content behind them: `expired`
    when the span is older than the payload retention (retention deleted it), else `missing` (never stored)."""
    linked_refs = {item["ref"] for item in linked}
    status = "expired" if span_age_days > settings.RETENTION_PAYLOAD_DAYS else "missing"
    unlinked = []
    for key, value in sorted(attributes.items()):
        if not (key.startswith(_REF_PREFIX) and key.endswith(_REF_SUFFIX)) or not isinstance(value, str):
            continue
        if value in linked_refs or not value.startswith("sha256:"):
            continue
        role = key[len(_REF_PREFIX) : -len(_REF_SUFFIX)]
        size = attributes.get(f"{_REF_PREFIX}{role}_size")
        unlinked.append(
            {
                "ref": value,
                "role": role,
                "attribute": key,
                "size_bytes": int(str(size)) if str(size).isdigit() else None,
                "content_type": None,
                "sha256": value.removeprefix("sha256:"),
                "status": status,
            }
        )
    return unlinked


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

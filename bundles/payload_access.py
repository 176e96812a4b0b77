"""How bundles use the payload store: reading a trace's payloads for export, storing a bundle's payloads on
import, and resolving and hash-checking refs for dry replay.

Payloads are found through the refs on the spans (`tracefoundry.payload.<role>_ref = sha256:<hex>`, on span
and event attributes). A payload's name is the sha256 of its content, so redacting it again (on export under a
stricter mode than it was stored with, or on import under the server's mode) can rename it; the refs and
`_size` attributes on the spans are then rewritten to match, in the span values on export and in the decoded
OTLP request on import (before it goes through ingest, which links the refs to the stored blobs).

Known limit: a payload whose blob is missing or corrupted in the store is left out of an export (logged);
dry replay of the exported bundle then reports its ref as unresolved.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bundles.verification import BundlePayload
from payloads import refs, storage
from payloads.capture import JSON_CONTENT_TYPE, serialise
from payloads.contracts import JsonValue, OtlpSpan, RedactionMode
from payloads.hashing import sha256_hex
from payloads.ingest import prepare_payload, store_payload
from payloads.models import PayloadBlob
from payloads.redaction import STRICTNESS, current_mode, redactor_for

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExportedPayload:
    sha256: str
    content: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class ExportedPayloads:
    spans: list[OtlpSpan]
    payloads: list[ExportedPayload]


@dataclass(frozen=True, slots=True)
class Renamed:
    sha256: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class StoredCheck:
    # Refs whose blob row exists, and what reading each one back found.
    resolved: set[str]
    problems: list[str]
    contents: dict[str, bytes]


# --- export ---------------------------------------------------------------------------------------------


def export_payloads(spans: list[OtlpSpan], mode: RedactionMode) -> ExportedPayloads:
    """The payloads the spans refer to, redacted again under `mode`, and the spans with matching refs: content
    refs (`sha256:`), not the public ones the spans are stored with, so the receiver checks each file against
    the refs naming it."""
    spans = [with_content_refs(span) for span in spans]
    shas = referenced_shas(spans)
    blobs = PayloadBlob.objects.filter(sha256__in=shas).order_by("sha256")
    redactor = redactor_for(mode)
    exported: dict[str, ExportedPayload] = {}
    renamed: dict[str, Renamed] = {}
    for blob in blobs:
        try:
            content = storage.read_content(blob)
        except storage.PayloadUnavailable as exc:
            logger.warning("payload left out of the export of a trace: %s", exc)
            continue
        text = content.decode("utf-8", errors="surrogateescape")
        redacted = redactor.text(text).encode("utf-8", errors="surrogateescape")
        sha = sha256_hex(redacted)
        exported[sha] = ExportedPayload(sha, redacted, blob.content_type)
        if sha != blob.sha256:
            renamed[blob.sha256] = Renamed(sha, len(redacted))
    missing = shas - {blob.sha256 for blob in blobs}
    if missing:
        logger.warning("%d payload ref(s) of an exported trace have no stored blob", len(missing))
    return ExportedPayloads([rename_span_refs(span, renamed) for span in spans], list(exported.values()))


def with_content_refs(span: OtlpSpan) -> OtlpSpan:
    """The span with every ref on it and on its events in content form (`sha256:<hex>`)."""
    return replace(
        span,
        attributes=_content_ref_attributes(span.attributes),
        events=[
            {**event, "attributes": _content_ref_attributes(event.get("attributes") or {})} for event in span.events
        ],
    )


def _content_ref_attributes(attributes: dict[str, JsonValue]) -> dict[str, JsonValue]:
    result = dict(attributes)
    for ref in refs.refs_of(attributes):
        result[ref.attribute] = refs.ref_value(ref.sha256)
    return result


def referenced_shas(spans: Iterable[OtlpSpan]) -> set[str]:
    shas: set[str] = set()
    for span in spans:
        shas.update(ref.sha256 for ref in refs.refs_of(span.attributes))
        for event in span.events:
            shas.update(ref.sha256 for ref in refs.refs_of(event.get("attributes") or {}))
    return shas


def rename_span_refs(span: OtlpSpan, renamed: dict[str, Renamed]) -> OtlpSpan:
    if not renamed:
        return span
    return replace(
        span,
        attributes=_renamed_attributes(span.attributes, renamed),
        events=[
            {**event, "attributes": _renamed_attributes(event.get("attributes") or {}, renamed)}
            for event in span.events
        ],
    )


def _renamed_attributes(attributes: dict[str, JsonValue], renamed: dict[str, Renamed]) -> dict[str, JsonValue]:
    result = dict(attributes)
    for ref in refs.refs_of(attributes):
        if ref.sha256 in renamed:
            result[ref.attribute] = refs.ref_value(renamed[ref.sha256].sha256)
            size_key = refs.size_key(ref.role)
            if size_key in result:
                result[size_key] = renamed[ref.sha256].size_bytes
    return result


# --- import ---------------------------------------------------------------------------------------------


def payload_problems(payloads: Iterable[BundlePayload]) -> list[str]:
    """Why a bundle's payloads could not be stored as they are (checked before anything is written)."""
    problems = []
    for payload in payloads:
        try:
            text = payload.content.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"payloads/{payload.sha256}: not UTF-8 text")
            continue
        if payload.content_type == JSON_CONTENT_TYPE and serialise(text)[1] != JSON_CONTENT_TYPE:
            problems.append(f"payloads/{payload.sha256}: declared application/json but is not a JSON document")
    return problems


def planned_renames(payloads: Iterable[BundlePayload], bundle_mode: str) -> dict[str, Renamed]:
    """The payloads whose content (and so name) storing them would change, old sha256 -> new; nothing written."""
    mode = _import_mode(bundle_mode)
    renamed: dict[str, Renamed] = {}
    for payload in payloads:
        prepared, _ = prepare_payload(payload.content, payload.content_type, mode)
        if prepared.sha256 != payload.sha256:
            renamed[payload.sha256] = Renamed(prepared.sha256, len(prepared.content))
    return renamed


def store_payloads(payloads: Iterable[BundlePayload], bundle_mode: str) -> dict[str, Renamed]:
    """Store the bundle's payloads under the stricter of the bundle's and the server's redaction mode; the
    payloads whose content (and so name) changed, old sha256 -> new (as `planned_renames` said)."""
    mode = _import_mode(bundle_mode)
    renamed: dict[str, Renamed] = {}
    for payload in payloads:
        stored = store_payload(payload.content, payload.content_type, mode)
        if stored.sha256 != payload.sha256:
            renamed[payload.sha256] = Renamed(stored.sha256, stored.size_bytes)
    return renamed


def _import_mode(bundle_mode: str) -> RedactionMode:
    return max(RedactionMode(bundle_mode), current_mode(), key=lambda m: STRICTNESS[m])


def rename_request_refs(request: ExportTraceServiceRequest, renamed: dict[str, Renamed]) -> None:
    """Point the refs of a decoded OTLP request at renamed payloads (in place)."""
    if not renamed:
        return
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                _rename_key_values(span.attributes, renamed)
                for event in span.events:
                    _rename_key_values(event.attributes, renamed)


def _rename_key_values(key_values: Any, renamed: dict[str, Renamed]) -> None:
    sizes: dict[str, int] = {}
    for kv in key_values:
        role = refs.ref_role(kv.key)
        sha = refs.sha256_of_value(kv.value.string_value) if role else None
        if role and sha in renamed and kv.value.WhichOneof("value") == "string_value":
            kv.value.string_value = refs.ref_value(renamed[sha].sha256)
            sizes[refs.size_key(role)] = renamed[sha].size_bytes
    for kv in key_values:
        if kv.key in sizes:
            kv.value.int_value = sizes[kv.key]


# --- dry replay -----------------------------------------------------------------------------------------


def check_stored(shas: set[str]) -> StoredCheck:
    """Resolve each sha256 to a stored blob and read it back (decompressed, hash verified)."""
    blobs = list(PayloadBlob.objects.filter(sha256__in=shas).order_by("sha256"))
    problems: list[str] = []
    contents: dict[str, bytes] = {}
    for blob in blobs:
        try:
            contents[blob.sha256] = storage.read_content(blob)
        except storage.PayloadUnavailable as exc:
            problems.append(str(exc))
    return StoredCheck({blob.sha256 for blob in blobs}, problems, contents)

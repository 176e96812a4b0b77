"""Store payloads: the ones captured from an OTLP batch, and single uploads from `POST /api/payloads`.

For a batch, `traces.ingest` calls `PayloadBatch.capture` on each span (redaction and extraction), then
`store_blobs` before its transaction (encodes the new blobs; small ones are kept for their rows, large ones
written to the payload storage: content-addressed, so writing them early is idempotent, and no storage round
trip happens while trace rows are locked), then `write_refs` inside its transaction (blob rows with the
inline bytes, last-referenced times, one `SpanPayloadRef` per span and role, see `payloads.row_insert`).
Large blobs are written from a small thread pool, since filesystem and S3 writes wait on I/O.

When the transaction fails, `discard_unstored` removes the bytes the batch wrote that no row references (see
`payloads.orphans`, which also sweeps what a crash leaves behind).

Known limits: `tracefoundry.payload.<role>_ref` attributes sent by an SDK are linked only when that blob was
uploaded before the span arrived.
"""

import json
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from django.core.files.storage import Storage
from django.db import transaction
from django.utils import timezone

from payloads import orphans, refs, storage
from payloads.capture import (
    JSON_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
    CapturedPayload,
    SpanCapture,
    serialise,
)
from payloads.contracts import OtlpSpan, RedactionMode
from payloads.hashing import sha256_hex
from payloads.models import PayloadBlob
from payloads.redaction import Redactor, redactor_for
from payloads.row_insert import BlobRow, RefRow, insert_blobs, insert_refs

# Who the refs of a capture belong to: (trace_id, span_id) for a span; log records add their own key, since a
# span has several (`traces.log_ingest`).
Owner = tuple[str, ...]
# Owners -> the row ids of their spans; given by `traces`, which owns the spans table.
SpanPkLookup = Callable[[set[Owner]], dict[Owner, int]]

_WRITERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="payload-writer")
_CAPTURES: dict[tuple[str, RedactionMode], SpanCapture] = {}


class PayloadRejected(ValueError):
    """An uploaded payload cannot be stored (undecodable text, invalid JSON); the message says why."""


@dataclass(frozen=True, slots=True)
class StoredPayload:
    sha256: str
    size_bytes: int
    content_type: str
    redaction_mode: str
    redacted: bool

    @property
    def ref(self) -> str:
        return refs.ref_value(self.sha256)


def span_capture(redactor: Redactor) -> SpanCapture:
    """The capture of this redactor, kept between batches for its per-key caches."""
    key = (redactor.policy.source, redactor.mode)
    capture = _CAPTURES.get(key)
    if capture is None or capture.redactor is not redactor:
        capture = _CAPTURES[key] = SpanCapture(redactor)
    return capture


class PayloadBatch:
    """The payloads of one ingest batch, keyed by owner (a span, or a log record of a span); the first copy of a
    re-sent owner wins."""

    def __init__(self, mode: RedactionMode | str | None = None) -> None:
        self._capture = span_capture(redactor_for(mode))
        self._payloads: dict[str, CapturedPayload] = {}
        # owner -> [(role, attribute, sha256)], declared refs flagged separately.
        self._refs: dict[Owner, list[tuple[str, str, str]]] = {}
        self._declared: dict[Owner, list[tuple[str, str, str]]] = {}
        self._new_blobs: list[BlobRow] = []
        self._known: set[str] = set()

    def capture(self, span: OtlpSpan, owner: Owner | None = None, attribute: str | None = None) -> OtlpSpan:
        """The span redacted, with its payloads replaced by refs; the payloads are kept for storing.

        `owner` defaults to (trace_id, span_id); `attribute` replaces the source named on the refs (a log record
        names itself, so that the refs of several records of one span stay apart)."""
        captured = self._capture.capture(span)
        key = owner or (span.trace_id, span.span_id)
        if key not in self._refs:
            self._refs[key] = [(p.role, attribute or p.attribute, p.sha256) for p in captured.payloads]
            self._declared[key] = [(d.role, d.attribute, d.sha256) for d in captured.declared_refs]
            for payload in captured.payloads:
                self._payloads.setdefault(payload.sha256, payload)
        return captured.span

    def refs_of(self, owner: Owner) -> list[tuple[str, str, str]]:
        """(role, attribute, sha256) of the payloads captured for an owner."""
        return list(self._refs.get(owner, []))

    def store_blobs(self) -> None:
        """Encode every payload not stored yet and write the ones too large to keep inline to the payload
        storage. Call before the spans' transaction."""
        declared = {sha for span_refs in self._declared.values() for _, _, sha in span_refs}
        wanted = set(self._payloads) | declared
        if not wanted:
            return
        self._known = set(PayloadBlob.objects.filter(sha256__in=wanted).values_list("sha256", flat=True))
        missing = [payload for sha, payload in self._payloads.items() if sha not in self._known]
        self._new_blobs = _blob_rows(missing)

    def discard_unstored(self) -> None:
        """The batch was refused after `store_blobs`: remove the bytes it wrote that no row references."""
        orphans.discard_unreferenced({row.sha256: row.storage_key for row in self._new_blobs if row.storage_key})

    def write_refs(self, new_spans: AbstractSet[Owner], span_pks: SpanPkLookup) -> None:
        """Blob rows, and the refs of the owners this transaction inserted (`new_spans`, as (trace_id, span_id) of
        spans): a re-sent span keeps the refs it was first stored with. Inside the spans' transaction, after the
        spans. `span_pks` gives the row ids of the spans that carry refs (the caller owns the spans table)."""
        if not self._known and not self._new_blobs:
            return
        now = timezone.now()
        if self._known:
            touched = PayloadBlob.objects.filter(sha256__in=self._known).update(last_referenced_at=now)
            if touched != len(self._known):
                self._restore_vanished()
        insert_blobs(self._new_blobs, now)
        stored = self._known | {row.sha256 for row in self._new_blobs}
        wanted = {
            key: [ref for ref in self._refs[key] + self._declared[key] if ref[2] in stored]
            for key in self._refs
            if key in new_spans
        }
        wanted = {key: span_refs for key, span_refs in wanted.items() if span_refs}
        if not wanted:
            return
        pks = span_pks(set(wanted))
        insert_refs(
            [
                RefRow(pks[key], sha, role, attribute)
                for key, span_refs in wanted.items()
                if key in pks
                for role, attribute, sha in span_refs
            ]
        )

    def _restore_vanished(self) -> None:
        # Retention removed a blob between store_blobs and this transaction: store it again.
        present = set(PayloadBlob.objects.filter(sha256__in=self._known).values_list("sha256", flat=True))
        vanished = [self._payloads[sha] for sha in self._known - present if sha in self._payloads]
        self._known = present
        self._new_blobs.extend(_blob_rows(vanished))


def link_stored_blobs(refs: list[RefRow]) -> list[RefRow]:
    """Refs to blobs stored earlier (a log record's, kept while its span had not arrived): inside the spans'
    transaction. A blob that retention removed meanwhile is not linked (the span then shows that ref as
    expired); the refs linked are returned."""
    if not refs:
        return []
    shas = {ref.sha256 for ref in refs}
    # Locked, so that retention cannot remove them between this check and the commit.
    present = set(PayloadBlob.objects.select_for_update().filter(sha256__in=shas).values_list("sha256", flat=True))
    PayloadBlob.objects.filter(sha256__in=present).update(last_referenced_at=timezone.now())
    linked = [ref for ref in refs if ref.sha256 in present]
    insert_refs(linked)
    return linked


def prepare_payload(
    body: bytes, content_type: str, mode: RedactionMode | str | None = None
) -> tuple[CapturedPayload, bool]:
    """One uploaded payload as it would be stored: redacted, serialised and named by its hash (nothing written),
    and whether redaction changed it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadRejected("the payload is not UTF-8 text") from exc
    redactor = redactor_for(mode)
    redacted_text = redactor.text(text)
    content, detected_type = serialise(redacted_text)
    if content_type == JSON_CONTENT_TYPE and (detected_type != JSON_CONTENT_TYPE or not _parses(redacted_text)):
        raise PayloadRejected("Content-Type is application/json but the body is not a JSON array or object")
    payload = CapturedPayload(
        role="upload",
        attribute="upload",
        content=content,
        content_type=JSON_CONTENT_TYPE if content_type == JSON_CONTENT_TYPE else TEXT_CONTENT_TYPE,
        sha256=sha256_hex(content),
        redaction_mode=redactor.mode.value,
    )
    return payload, redacted_text != text


def store_payload(body: bytes, content_type: str, mode: RedactionMode | str | None = None) -> StoredPayload:
    """Redact and store one uploaded payload (`POST /api/payloads`); the server's mode applies, always."""
    payload, redacted = prepare_payload(body, content_type, mode)
    content = payload.content
    now = timezone.now()
    existing = PayloadBlob.objects.filter(sha256=payload.sha256).first()
    if existing is not None:
        PayloadBlob.objects.filter(sha256=payload.sha256).update(last_referenced_at=now)
        content_type_stored, mode_stored = existing.content_type, existing.redaction_mode
    else:
        rows = _blob_rows([payload])
        try:
            with transaction.atomic():
                insert_blobs(rows, now)
        except BaseException:
            orphans.discard_unreferenced({row.sha256: row.storage_key for row in rows if row.storage_key})
            raise
        content_type_stored, mode_stored = payload.content_type, payload.redaction_mode
    return StoredPayload(
        sha256=payload.sha256,
        size_bytes=len(content),
        content_type=content_type_stored,
        redaction_mode=mode_stored,
        redacted=redacted,
    )


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _blob_rows(payloads: list[CapturedPayload]) -> list[BlobRow]:
    """Encode each payload and write the bytes of the ones not kept inline to the payload storage; the rows
    describing them all (not inserted yet)."""
    if not payloads:
        return []
    backend = storage.payload_storage()
    # Encoding never makes content larger, so content that fits inline is never written: no thread needed.
    small = [payload for payload in payloads if storage.fits_inline(len(payload.content))]
    large = [payload for payload in payloads if not storage.fits_inline(len(payload.content))]
    rows = [_blob_row(backend, payload) for payload in small]
    if len(large) == 1:
        rows.append(_blob_row(backend, large[0]))
    elif large:
        rows.extend(_WRITERS.map(partial(_blob_row, backend), large))
    return rows


def _blob_row(backend: Storage, payload: CapturedPayload) -> BlobRow:
    encoded = storage.encode(payload.content)
    inline = storage.fits_inline(len(encoded.data))
    key = "" if inline else storage.storage_key(payload.sha256)
    if not inline:
        storage.write(backend, key, encoded.data)
    return BlobRow(
        sha256=payload.sha256,
        size_bytes=len(payload.content),
        stored_size_bytes=len(encoded.data),
        compression=encoded.compression,
        content_type=payload.content_type,
        redaction_mode=payload.redaction_mode,
        storage_key=key,
        inline_data=encoded.data if inline else None,
    )

"""Importing a bundle zip: check everything first, then store the payloads and spans in one transaction.

Order: the zip-safety gate (`bundles.archive.read_archive`), then the manifest, every file's hash and size,
payload names, trace id and span count (`bundles.verification.inspect_bundle`); any problem refuses the
bundle with BundleRefused naming it, before anything is written. Then the spans are prepared as the import
would store them (payloads redacted under the stricter of the bundle's and the server's mode, refs renamed if
that changed a payload, spans through the same path as OTLP with source `bundle_import` and environment
`offline`). If the trace id is stored already, the stored spans are compared with the prepared ones
(`bundles.differences`): any span added, removed or changed refuses the import with ImportConflict naming
the differences, so an import never merges into another trace. Otherwise, in one transaction, the payloads go
to the payload store and the spans through `traces.ingest`.

Ids are kept, so importing the same bundle twice changes nothing (when every span and payload is already
stored, nothing is written at all). With `as_new_trace` the bundle's spans (and links to its own trace) get a
fresh random trace id, which the result names, whatever is stored.

Known limit: large payloads written to the storage for an import that then fails stay there without a row
(content-addressed and harmless, as for OTLP batches).
"""

import secrets
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bundles import differences, payload_access
from bundles.archive import ArchiveLimits, BundleRefused, read_archive
from bundles.contracts import ImportResult
from bundles.verification import BundleContents, inspect_bundle
from payloads.models import PayloadBlob
from traces.ingest import PreparedBatch, prepare_request, summary_of, write_batch
from traces.models import Span, Trace, TraceSource

OFFLINE_ENVIRONMENT = "offline"


class ImportConflict(Exception):
    """The bundle's trace id is stored with other content; `differences` says what differs."""

    def __init__(self, trace_id: str, found: list[str]) -> None:
        super().__init__(
            f"trace {trace_id} is already stored with different content; nothing was imported. Import it "
            "under a new trace id (as_new_trace) to keep both."
        )
        self.trace_id = trace_id
        self.differences = found


def configured_limits() -> ArchiveLimits:
    return ArchiveLimits(
        max_upload_bytes=settings.BUNDLE_MAX_UPLOAD_BYTES,
        max_uncompressed_bytes=settings.BUNDLE_MAX_UNCOMPRESSED_BYTES,
        max_file_bytes=settings.BUNDLE_MAX_FILE_BYTES,
        max_files=settings.BUNDLE_MAX_FILES,
        max_compression_ratio=settings.BUNDLE_MAX_COMPRESSION_RATIO,
    )


def read_bundle(upload: IO[bytes], size_bytes: int) -> BundleContents:
    """The checked contents of an uploaded bundle, or BundleRefused if anything about it is wrong."""
    contents = inspect_bundle(read_archive(upload, size_bytes, configured_limits()))
    problems = [problem.detail for problem in contents.problems]
    problems += payload_access.payload_problems(contents.payloads.values())
    if problems:
        raise BundleRefused(f"bundle refused: {'; '.join(problems)}")
    return contents


def import_bundle(upload: IO[bytes], size_bytes: int, *, as_new_trace: bool = False) -> ImportResult:
    """Store the bundle's trace; BundleRefused if the bundle is not acceptable, ImportConflict if its trace id
    is stored with other content (unless `as_new_trace`)."""
    contents = read_bundle(upload, size_bytes)
    manifest = contents.manifest
    trace_id = manifest.trace_id
    request = contents.request
    if as_new_trace:
        trace_id = secrets.token_hex(16)
        _retarget(request, manifest.trace_id, trace_id)
    payload_access.rename_request_refs(
        request, payload_access.planned_renames(contents.payloads.values(), manifest.redaction)
    )
    batch = prepare_request(request, environment=OFFLINE_ENVIRONMENT)
    with transaction.atomic():
        stored = Trace.objects.select_for_update().filter(trace_id=trace_id).values(*differences.SUMMARY_FIELDS)
        existing = next(iter(stored), None)
        if existing is not None:
            found = _differences(trace_id, existing, batch)
            if found:
                raise ImportConflict(trace_id, found)
            if _payloads_stored(contents):
                return _result(contents, trace_id, created=False)
        payload_access.store_payloads(contents.payloads.values(), manifest.redaction)
        write_batch(batch, TraceSource.BUNDLE_IMPORT)
    return _result(contents, trace_id, created=existing is None)


def _retarget(request: ExportTraceServiceRequest, old: str, new: str) -> None:
    old_bytes, new_bytes = bytes.fromhex(old), bytes.fromhex(new)
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                if span.trace_id == old_bytes:
                    span.trace_id = new_bytes
                for link in span.links:
                    if link.trace_id == old_bytes:
                        link.trace_id = new_bytes


def _differences(trace_id: str, stored_summary: dict[str, Any], batch: PreparedBatch) -> list[str]:
    stored = {
        row["span_id"]: row
        for row in Span.objects.filter(trace_id=trace_id).values("span_id", *differences.CONTENT_COLUMNS)
    }
    imported = {span_id: row for (_, span_id), row in batch.spans.items()}
    spans = differences.span_differences(stored, imported)
    if not spans:
        return []
    summary = differences.summary_differences(stored_summary, summary_of(trace_id, batch.spans.values()))
    return differences.listed(spans + summary)


def _payloads_stored(contents: BundleContents) -> bool:
    # Every span is stored as the bundle has it; with every payload stored too a second import writes nothing
    # (ingest would ignore the spans, but still touch the blobs' bookkeeping times).
    return PayloadBlob.objects.filter(sha256__in=list(contents.payloads)).count() == len(contents.payloads)


def _result(contents: BundleContents, trace_id: str, *, created: bool) -> ImportResult:
    manifest = contents.manifest
    return ImportResult(
        trace_id=trace_id,
        span_count=len({span.span_id for span in contents.spans}),
        payload_count=len(contents.payloads),
        created=created,
        redaction=manifest.redaction,
        payloads_included=manifest.payloads_included,
        original_trace_id=manifest.trace_id,
    )

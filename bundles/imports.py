"""Importing a bundle zip: check everything first, then store the payloads and spans in one transaction.

Order: the zip-safety gate (`bundles.archive.read_archive`), then the manifest, every file's hash and size,
payload names, trace id and span count (`bundles.verification.inspect_bundle`); any problem refuses the
bundle with BundleRefused naming it, before anything is written. Then, in one transaction, the payloads go to
the payload store (redacted again under the stricter of the bundle's and the server's mode; refs renamed if
that changed a payload) and the spans through the same ingest path as OTLP (`traces.ingest.ingest_request`,
which redacts under the server's mode and links the refs to the stored blobs) with source `bundle_import`
and environment `offline`. Ids are kept, and ingest ignores spans it already holds,
so importing the same bundle twice changes nothing (when every span and payload is already stored, nothing
is written at all).
"""

from typing import IO

from django.conf import settings
from django.db import transaction

from bundles import payload_access
from bundles.archive import ArchiveLimits, BundleRefused, read_archive
from bundles.contracts import ImportResult
from bundles.verification import BundleContents, inspect_bundle
from payloads.models import PayloadBlob
from traces.ingest import ingest_request
from traces.models import Span, Trace, TraceSource

OFFLINE_ENVIRONMENT = "offline"


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


def import_bundle(upload: IO[bytes], size_bytes: int) -> ImportResult:
    contents = read_bundle(upload, size_bytes)
    manifest = contents.manifest
    with transaction.atomic():
        existed = Trace.objects.filter(trace_id=manifest.trace_id).exists()
        if existed and _already_stored(contents):
            return _result(contents, created=False)
        renamed = payload_access.store_payloads(contents.payloads.values(), manifest.redaction)
        payload_access.rename_request_refs(contents.request, renamed)
        ingest_request(contents.request, source=TraceSource.BUNDLE_IMPORT, environment=OFFLINE_ENVIRONMENT)
    return _result(contents, created=not existed)


def _already_stored(contents: BundleContents) -> bool:
    # Every span and payload of the bundle is here already: a second import writes nothing at all (ingest
    # would ignore the spans, but still touch the summary's and the blobs' bookkeeping times).
    span_ids = {span.span_id for span in contents.spans}
    stored_spans = Span.objects.filter(trace_id=contents.manifest.trace_id, span_id__in=span_ids).count()
    stored_blobs = PayloadBlob.objects.filter(sha256__in=list(contents.payloads)).count()
    return stored_spans == len(span_ids) and stored_blobs == len(contents.payloads)


def _result(contents: BundleContents, *, created: bool) -> ImportResult:
    manifest = contents.manifest
    return ImportResult(
        trace_id=manifest.trace_id,
        span_count=len({span.span_id for span in contents.spans}),
        payload_count=len(contents.payloads),
        created=created,
        redaction=manifest.redaction,
        payloads_included=manifest.payloads_included,
    )

"""Test data for bundles: spans as OTLP values, stored traces, bundle zips taken apart and rebuilt."""

import io
import json
import warnings
import zipfile
from collections.abc import Callable
from typing import Any

from bundles import format as bundle_format
from bundles.archive import write_archive
from payloads.contracts import OtlpSpan
from testing.factories import SpanSpec, export_request
from traces import otlp
from traces.ingest import ingest_request


def otlp_spans(specs: list[SpanSpec], **resource: Any) -> list[OtlpSpan]:
    return [span for span in otlp.iter_spans(export_request(specs, **resource)) if isinstance(span, OtlpSpan)]


def store_trace(specs: list[SpanSpec], **resource: Any) -> str:
    result = ingest_request(export_request(specs, **resource))
    assert result.rejected_spans == 0, result.error_message
    return result.trace_ids[0]


def files_of(bundle: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def manifest_of(bundle: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(files_of(bundle)[bundle_format.MANIFEST_NAME])
    return document


def spans_document_of(bundle: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(files_of(bundle)[bundle_format.SPANS_NAME])
    return document


def rebuilt(bundle: bytes, change: Callable[[dict[str, bytes]], None], *, rehash: bool = False) -> bytes:
    """The bundle with its files changed by `change`; with rehash, the manifest is made to match again."""
    files = files_of(bundle)
    change(files)
    if rehash:
        manifest = json.loads(files[bundle_format.MANIFEST_NAME])
        manifest["files"] = {
            path: {
                "sha256": bundle_format.sha256_hex(data),
                "size_bytes": len(data),
                **(
                    {"content_type": manifest["files"][path]["content_type"]}
                    if path in manifest["files"] and "content_type" in manifest["files"][path]
                    else {}
                ),
            }
            for path, data in files.items()
            if path != bundle_format.MANIFEST_NAME
        }
        files[bundle_format.MANIFEST_NAME] = json.dumps(manifest).encode()
    return write_archive(files)


def raw_zip(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    """A zip with exactly these entries (duplicates, odd names and modes included)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names some tests need
        for info, data in entries:
            archive.writestr(info, data)
    return buffer.getvalue()


def with_manifest_change(bundle: bytes, **changes: Any) -> bytes:
    def change(files: dict[str, bytes]) -> None:
        manifest = json.loads(files[bundle_format.MANIFEST_NAME])
        manifest.update(changes)
        files[bundle_format.MANIFEST_NAME] = json.dumps(manifest).encode()

    return rebuilt(bundle, change)

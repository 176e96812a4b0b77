"""Exporting one stored trace as a bundle zip (see `bundles.format` for what the zip holds).

An export is never less redacted than what was stored: the requested mode's redaction is applied again to
every span field (name, attributes, events, links, status, resource, scope) and to every payload's content,
so asking for `off` returns what was stored and asking for `strict` masks personal data and drops attributes
outside the allowlist even for spans stored under `standard`. Strict exports carry no payloads: the API, the CLI
and import refuse to ask for them (`bundles.format.export_options_problem`), and this module leaves them out. A payload
whose content changes under the requested mode gets a new hash, and the refs on the spans are rewritten to it.
With payloads, spans name them by content ref (`sha256:`, checkable by the receiver); without, spans keep their
public refs, from which nobody can confirm a guess of the content.

Who may ask for which options is decided by the caller (`accounts.roles.export_requirements`); this module
only exports.
"""

from dataclasses import replace
from datetime import UTC, datetime

from bundles import format as bundle_format
from bundles import payload_access
from bundles.archive import write_archive
from bundles.contracts import ExportedBundle
from bundles.fingerprint import environment_fingerprint, git_commit, tracefoundry_version
from bundles.queries import stored_spans
from bundles.receiver_readme import readme_text
from payloads.contracts import OtlpSpan, RedactionMode
from payloads.redaction import SpanParts, redact_span_parts, redactor_for


def export_trace(trace_id: str, *, include_payloads: bool, redaction: str) -> ExportedBundle:
    """The bundle of a stored trace (Trace.DoesNotExist if there is none; ValueError for an unknown mode)."""
    mode = RedactionMode(redaction)
    spans = [redact_span(span, mode) for span in stored_spans(trace_id)]
    payload_files: dict[str, tuple[bytes, str]] = {}
    if include_payloads and mode != RedactionMode.STRICT:
        exported = payload_access.export_payloads(spans, mode)
        spans = exported.spans
        payload_files = {bundle_format.payload_path(p.sha256): (p.content, p.content_type) for p in exported.payloads}
    include_payloads = include_payloads and mode != RedactionMode.STRICT
    spans_bytes = bundle_format.spans_json_bytes(spans)
    exported_at = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    readme = readme_text(
        trace_id=trace_id,
        span_count=len(spans),
        exported_at=exported_at,
        tracefoundry_version=tracefoundry_version(),
        redaction=mode.value,
        payloads_included=include_payloads,
        payload_count=len(payload_files),
    ).encode()
    entries = [
        bundle_format.file_entry(bundle_format.SPANS_NAME, spans_bytes, "application/json"),
        bundle_format.file_entry(bundle_format.README_NAME, readme, "text/markdown"),
        *(
            bundle_format.file_entry(path, content, content_type)
            for path, (content, content_type) in payload_files.items()
        ),
    ]
    manifest = bundle_format.Manifest(
        format_version=bundle_format.FORMAT_VERSION,
        trace_id=trace_id,
        exported_at=exported_at,
        tracefoundry_version=tracefoundry_version(),
        git_commit=git_commit(),
        environment=environment_fingerprint(),
        redaction=mode.value,
        payloads_included=include_payloads,
        span_count=len(spans),
        files=tuple(entries),
    )
    files = {
        bundle_format.MANIFEST_NAME: bundle_format.manifest_bytes(manifest),
        bundle_format.SPANS_NAME: spans_bytes,
        bundle_format.README_NAME: readme,
        **{path: content for path, (content, _) in payload_files.items()},
    }
    return ExportedBundle(
        filename=bundle_filename(trace_id, mode.value), content=write_archive(files), manifest=manifest
    )


def bundle_filename(trace_id: str, redaction: str) -> str:
    return f"trace-{trace_id}-{redaction}.tfbundle.zip"


def redact_span(span: OtlpSpan, mode: RedactionMode) -> OtlpSpan:
    parts = redact_span_parts(
        SpanParts(
            name=span.name,
            status_message=span.status_message,
            trace_state=span.trace_state,
            attributes=span.attributes,
            resource_attributes=span.resource_attributes,
            events=span.events,
            links=span.links,
            scope=span.scope,
        ),
        redactor_for(mode),
    )
    return replace(
        span,
        name=parts.name,
        status_message=parts.status_message,
        trace_state=parts.trace_state,
        attributes=parts.attributes,
        resource_attributes=parts.resource_attributes,
        events=parts.events,
        links=parts.links,
        scope=parts.scope,
    )

"""Checking the contents of a bundle against its manifest, before anything of it is trusted.

Pure: works on the files `bundles.archive.read_archive` returned. A missing or unreadable manifest or spans
file is fatal (BundleRefused); everything else is collected as problems so that import can refuse with all
of them named and dry replay can report them: files missing from or not listed in the manifest, sha256 or size
mismatches, payload files whose name is not the hash of their content, payloads in a bundle that says it has
none (or in a strict one), spans of another trace than the manifest's, a span count that differs, and spans
that could not be stored.
"""

from dataclasses import dataclass

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bundles import format as bundle_format
from bundles.archive import BundleRefused
from payloads.contracts import OtlpSpan, RedactionMode, RejectedSpan
from payloads.hashing import sha256_hex
from traces import otlp


@dataclass(frozen=True, slots=True)
class Problem:
    # "file" (listing, hash or size of a non-payload file), "payload" (payload file) or "spans".
    kind: str
    detail: str


@dataclass(frozen=True, slots=True)
class BundlePayload:
    sha256: str
    content: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class BundleContents:
    manifest: bundle_format.Manifest
    request: ExportTraceServiceRequest
    spans: tuple[OtlpSpan, ...]
    # Payload files whose content matches their name and their manifest entry.
    payloads: dict[str, BundlePayload]
    problems: tuple[Problem, ...]

    def problems_of(self, kind: str) -> list[str]:
        return [problem.detail for problem in self.problems if problem.kind == kind]


def inspect_bundle(files: dict[str, bytes]) -> BundleContents:
    """The manifest, spans and payloads of a bundle, every inconsistency found (BundleRefused if fatal)."""
    if bundle_format.MANIFEST_NAME not in files:
        raise BundleRefused(f"bundle has no {bundle_format.MANIFEST_NAME}")
    try:
        manifest = bundle_format.parse_manifest(files[bundle_format.MANIFEST_NAME])
    except bundle_format.ManifestError as exc:
        raise BundleRefused(str(exc)) from exc
    if bundle_format.SPANS_NAME not in files:
        raise BundleRefused(f"bundle has no {bundle_format.SPANS_NAME}")
    problems = _file_problems(manifest, files)
    payloads, payload_problems = _payloads(manifest, files)
    problems += payload_problems
    try:
        request = otlp.decode_json(files[bundle_format.SPANS_NAME])
    except otlp.OtlpDecodeError as exc:
        raise BundleRefused(f"{bundle_format.SPANS_NAME}: {exc}") from exc
    spans, span_problems = _spans(manifest, request)
    problems += span_problems
    return BundleContents(manifest, request, spans, payloads, tuple(problems))


def _file_problems(manifest: bundle_format.Manifest, files: dict[str, bytes]) -> list[Problem]:
    problems = []
    listed = {entry.path: entry for entry in manifest.files}
    present = set(files) - {bundle_format.MANIFEST_NAME}
    for path in sorted(present - set(listed)):
        problems.append(Problem(_kind(path), f"{path} is in the bundle but not listed in the manifest"))
    for path in sorted(set(listed) - present):
        problems.append(Problem(_kind(path), f"{path} is listed in the manifest but missing from the bundle"))
    for path in sorted(present & set(listed)):
        entry, data = listed[path], files[path]
        actual = sha256_hex(data)
        if actual != entry.sha256:
            problems.append(
                Problem(_kind(path), f"{path}: sha256 {actual} does not match the manifest's {entry.sha256}")
            )
        elif len(data) != entry.size_bytes:
            problems.append(Problem(_kind(path), f"{path}: {len(data)} bytes, the manifest says {entry.size_bytes}"))
    return problems


def _payloads(
    manifest: bundle_format.Manifest, files: dict[str, bytes]
) -> tuple[dict[str, BundlePayload], list[Problem]]:
    problems = []
    payloads: dict[str, BundlePayload] = {}
    paths = sorted(path for path in files if bundle_format.is_payload_path(path))
    if paths and not manifest.payloads_included:
        problems.append(Problem("payload", "the manifest says payloads are not included, yet the bundle has some"))
    if paths and manifest.redaction == RedactionMode.STRICT:
        problems.append(Problem("payload", "a strict bundle must not carry payloads"))
    for path in paths:
        data = files[path]
        name = path.removeprefix(bundle_format.PAYLOAD_DIR)
        actual = sha256_hex(data)
        entry = manifest.entry(path)
        if actual != name:
            problems.append(Problem("payload", f"{path}: content hashes to {actual}, not to its name"))
        elif entry is not None and entry.sha256 == actual:
            payloads[name] = BundlePayload(name, data, entry.content_type or "application/octet-stream")
    return payloads, problems


def _spans(
    manifest: bundle_format.Manifest, request: ExportTraceServiceRequest
) -> tuple[tuple[OtlpSpan, ...], list[Problem]]:
    problems = []
    spans: list[OtlpSpan] = []
    for item in otlp.iter_spans(request):
        if isinstance(item, RejectedSpan):
            problems.append(Problem("spans", f"span {item.span_id or '(empty)'} cannot be stored: {item.reason}"))
        else:
            spans.append(item)
    foreign = sorted({span.trace_id for span in spans} - {manifest.trace_id})
    if foreign:
        problems.append(
            Problem(
                "spans",
                f"{bundle_format.SPANS_NAME} holds trace id(s) {', '.join(foreign)}, "
                f"not the manifest's {manifest.trace_id}",
            )
        )
    total = sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)
    if total != manifest.span_count:
        problems.append(
            Problem(
                "spans",
                f"{bundle_format.SPANS_NAME} holds {total} spans, the manifest says {manifest.span_count}",
            )
        )
    return tuple(spans), problems


def _kind(path: str) -> str:
    return "payload" if path.startswith(bundle_format.PAYLOAD_DIR) else "file"

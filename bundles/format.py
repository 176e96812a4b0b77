"""The trace bundle format: file names, the manifest, and the spans file (encoded by `traces.otlp`).

Pure: no ORM, no I/O. A bundle is a zip holding

- `manifest.json`: format version, trace id, exporter and environment facts, redaction mode, whether payloads
  are included, the span count, and the sha256 and size of every other file;
- `spans.otlp.json`: one OTLP/JSON `ExportTraceServiceRequest` (hex ids, lowerCamelCase keys, 64-bit integers
  as decimal strings so nanosecond timestamps stay exact, enums as integers), readable by OpenTelemetry tools;
- `payloads/<sha256>`: payload contents (uncompressed), each named by the sha256 of its bytes;
- `README.md`: what the bundle is, for whoever receives it.

The spans encoding (`traces.otlp.encode_spans_json`) is deterministic (spans by start time then id, attribute
keys sorted at every level), so a trace exported, imported and exported again gives byte-identical
`spans.otlp.json` on SQLite and Postgres alike.

Known limits: attribute values that arrived as `bytesValue` come back as base64 strings, and non-finite
doubles as strings (see `traces.otlp`).
"""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from payloads.contracts import JsonValue, OtlpSpan, RedactionMode, is_trace_id
from payloads.hashing import sha256_hex
from tracefoundry_site import json_limits
from traces import otlp

FORMAT_NAME = "tracefoundry-bundle"
FORMAT_VERSION = 1
KNOWN_FORMAT_VERSIONS = frozenset({FORMAT_VERSION})

MANIFEST_NAME = "manifest.json"
SPANS_NAME = "spans.otlp.json"
README_NAME = "README.md"
PAYLOAD_DIR = "payloads/"

# Said the same way by the API (400), the CLI and manifest validation.
STRICT_CARRIES_NO_PAYLOADS = "strict exports carry no payloads: ask for redaction standard (or off) to include them"

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ManifestError(ValueError):
    """The manifest is missing, unreadable, or describes a bundle this version cannot read."""


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str
    sha256: str
    size_bytes: int
    content_type: str = ""


@dataclass(frozen=True, slots=True)
class Manifest:
    format_version: int
    trace_id: str
    exported_at: str
    tracefoundry_version: str
    git_commit: str | None
    environment: dict[str, JsonValue]
    redaction: str
    payloads_included: bool
    span_count: int
    files: tuple[FileEntry, ...]

    def entry(self, path: str) -> FileEntry | None:
        return next((entry for entry in self.files if entry.path == path), None)

    @property
    def payload_entries(self) -> tuple[FileEntry, ...]:
        return tuple(entry for entry in self.files if entry.path.startswith(PAYLOAD_DIR))


def export_options_problem(include_payloads: bool, redaction: str) -> str:
    """Why a bundle cannot have these options ("" if it can): the one answer to "strict with payloads"."""
    return STRICT_CARRIES_NO_PAYLOADS if include_payloads and redaction == RedactionMode.STRICT else ""


def payload_path(sha256: str) -> str:
    return PAYLOAD_DIR + sha256


def is_payload_path(path: str) -> bool:
    return path.startswith(PAYLOAD_DIR) and bool(_SHA256.match(path[len(PAYLOAD_DIR) :]))


# --- spans.otlp.json ------------------------------------------------------------------------------------


def spans_json_bytes(spans: Iterable[OtlpSpan]) -> bytes:
    # Compact: a large trace stays small; `jq . spans.otlp.json` pretty-prints it for a reader.
    return (json.dumps(otlp.encode_spans_json(spans), separators=(",", ":"), ensure_ascii=False) + "\n").encode()


# --- manifest -------------------------------------------------------------------------------------------


def manifest_bytes(manifest: Manifest) -> bytes:
    document = {
        "format": FORMAT_NAME,
        "format_version": manifest.format_version,
        "trace_id": manifest.trace_id,
        "exported_at": manifest.exported_at,
        "tracefoundry_version": manifest.tracefoundry_version,
        "git_commit": manifest.git_commit,
        "environment": manifest.environment,
        "redaction": manifest.redaction,
        "payloads_included": manifest.payloads_included,
        "span_count": manifest.span_count,
        "files": {
            entry.path: {
                "sha256": entry.sha256,
                "size_bytes": entry.size_bytes,
                **({"content_type": entry.content_type} if entry.content_type else {}),
            }
            for entry in sorted(manifest.files, key=lambda e: e.path)
        },
    }
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def parse_manifest(data: bytes) -> Manifest:
    """The manifest of a bundle, or ManifestError naming what is wrong with it."""
    try:
        document = json_limits.loads(data)
    except json_limits.JsonTooDeep as exc:
        raise ManifestError(f"{MANIFEST_NAME}: {exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{MANIFEST_NAME} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ManifestError(f"{MANIFEST_NAME} must be a JSON object")
    if document.get("format") != FORMAT_NAME:
        raise ManifestError(f"{MANIFEST_NAME}: format must be {FORMAT_NAME!r}, got {document.get('format')!r}")
    version = document.get("format_version")
    if type(version) is not int or version not in KNOWN_FORMAT_VERSIONS:
        known = ", ".join(str(v) for v in sorted(KNOWN_FORMAT_VERSIONS))
        raise ManifestError(f"{MANIFEST_NAME}: unknown format_version {version!r} (this server reads {known})")
    trace_id = document.get("trace_id")
    if not is_trace_id(trace_id):
        raise ManifestError(f"{MANIFEST_NAME}: trace_id must be 32 lowercase hex characters")
    redaction = document.get("redaction")
    if redaction not in RedactionMode.values:
        raise ManifestError(f"{MANIFEST_NAME}: redaction must be one of {', '.join(RedactionMode.values)}")
    payloads_included = document.get("payloads_included")
    span_count = document.get("span_count")
    if not isinstance(payloads_included, bool):
        raise ManifestError(f"{MANIFEST_NAME}: payloads_included must be true or false")
    if problem := export_options_problem(payloads_included, redaction):
        raise ManifestError(f"{MANIFEST_NAME}: {problem}")
    if type(span_count) is not int or span_count < 0:
        raise ManifestError(f"{MANIFEST_NAME}: span_count must be a non-negative integer")
    environment = document.get("environment")
    git_commit = document.get("git_commit")
    return Manifest(
        format_version=version,
        trace_id=trace_id,
        exported_at=str(document.get("exported_at", "")),
        tracefoundry_version=str(document.get("tracefoundry_version", "")),
        git_commit=git_commit if isinstance(git_commit, str) else None,
        environment=environment if isinstance(environment, dict) else {},
        redaction=redaction,
        payloads_included=payloads_included,
        span_count=span_count,
        files=_parse_files(document.get("files")),
    )


def _parse_files(files: JsonValue) -> tuple[FileEntry, ...]:
    if not isinstance(files, dict):
        raise ManifestError(f"{MANIFEST_NAME}: files must be an object of path -> {{sha256, size_bytes}}")
    entries = []
    for path, entry in files.items():
        if not isinstance(entry, dict):
            raise ManifestError(f"{MANIFEST_NAME}: files[{path!r}] must be an object")
        sha256, size = entry.get("sha256"), entry.get("size_bytes")
        if not isinstance(sha256, str) or not _SHA256.match(sha256):
            raise ManifestError(f"{MANIFEST_NAME}: files[{path!r}].sha256 must be 64 lowercase hex characters")
        if type(size) is not int or size < 0:
            raise ManifestError(f"{MANIFEST_NAME}: files[{path!r}].size_bytes must be a non-negative integer")
        content_type = entry.get("content_type", "")
        entries.append(FileEntry(path, sha256, size, content_type if isinstance(content_type, str) else ""))
    return tuple(entries)


def file_entry(path: str, data: bytes, content_type: str = "") -> FileEntry:
    return FileEntry(path=path, sha256=sha256_hex(data), size_bytes=len(data), content_type=content_type)

"""`bundles.verification`: a bundle's files checked against its manifest, every inconsistency named, the fatal
ones refused. Bundles are built here file by file (no database): manifest, spans, payloads."""

import json

import pytest

from bundles import format as bundle_format
from bundles.archive import BundleRefused
from bundles.tests.factories import otlp_spans
from bundles.verification import inspect_bundle
from payloads.hashing import sha256_hex
from testing.factories import SpanSpec

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PAYLOAD = b'[{"role": "user", "content": "hi"}]'
SHA = sha256_hex(PAYLOAD)


def _files(*, redaction: str = "standard", payloads_included: bool = True, span_count: int = 2) -> dict[str, bytes]:
    spans = otlp_spans([SpanSpec(TRACE, "a" * 16, "root"), SpanSpec(TRACE, "b" * 16, "child", "a" * 16)])
    files = {bundle_format.SPANS_NAME: bundle_format.spans_json_bytes(spans), bundle_format.payload_path(SHA): PAYLOAD}
    manifest = bundle_format.Manifest(
        format_version=bundle_format.FORMAT_VERSION,
        trace_id=TRACE,
        exported_at="2026-12-01T00:00:00Z",
        tracefoundry_version="0.1.0",
        git_commit=None,
        environment={},
        redaction=redaction,
        payloads_included=payloads_included,
        span_count=span_count,
        files=tuple(bundle_format.file_entry(path, data, "application/json") for path, data in files.items()),
    )
    return {bundle_format.MANIFEST_NAME: bundle_format.manifest_bytes(manifest), **files}


def _problems(files: dict[str, bytes]) -> list[tuple[str, str]]:
    return [(problem.kind, problem.detail) for problem in inspect_bundle(files).problems]


def test_a_consistent_bundle_has_no_problems_and_its_payloads() -> None:
    contents = inspect_bundle(_files())

    assert contents.problems == ()
    assert [span.name for span in contents.spans] == ["root", "child"]
    assert contents.payloads[SHA].content == PAYLOAD
    assert contents.payloads[SHA].content_type == "application/json"


def test_unlisted_and_missing_files_are_named() -> None:
    files = _files()
    files["payloads/" + "1" * 64] = b"x"
    del files[bundle_format.payload_path(SHA)]

    assert _problems(files) == [
        ("payload", f"payloads/{'1' * 64} is in the bundle but not listed in the manifest"),
        ("payload", f"payloads/{SHA} is listed in the manifest but missing from the bundle"),
        ("payload", f"payloads/{'1' * 64}: content hashes to {sha256_hex(b'x')}, not to its name"),
    ]


def test_a_changed_file_is_named_with_both_hashes() -> None:
    files = _files()
    original = files[bundle_format.SPANS_NAME]
    files[bundle_format.SPANS_NAME] = original.replace(b"child", b"CHILD")

    assert _problems(files) == [
        (
            "file",
            f"spans.otlp.json: sha256 {sha256_hex(files[bundle_format.SPANS_NAME])} does not match the manifest's "
            f"{sha256_hex(original)}",
        )
    ]


def test_payloads_in_a_bundle_that_says_it_has_none_are_named() -> None:
    assert ("payload", "the manifest says payloads are not included, yet the bundle has some") in _problems(
        _files(payloads_included=False)
    )


def test_a_wrong_span_count_is_named() -> None:
    assert _problems(_files(span_count=3)) == [("spans", "spans.otlp.json holds 2 spans, the manifest says 3")]


def test_spans_of_another_trace_and_spans_that_cannot_be_stored_are_named() -> None:
    files = _files()
    document = json.loads(files[bundle_format.SPANS_NAME])
    spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[0]["traceId"] = "f" * 32
    spans[1]["startTimeUnixNano"] = "0"
    files[bundle_format.SPANS_NAME] = json.dumps(document).encode()
    files = {**files, **_relisted(files)}

    assert _problems(files) == [
        ("spans", f"span {'b' * 16} cannot be stored: missing start time"),
        ("spans", f"spans.otlp.json holds trace id(s) {'f' * 32}, not the manifest's {TRACE}"),
    ]


def _relisted(files: dict[str, bytes]) -> dict[str, bytes]:
    manifest = json.loads(files[bundle_format.MANIFEST_NAME])
    data = files[bundle_format.SPANS_NAME]
    manifest["files"][bundle_format.SPANS_NAME].update(sha256=sha256_hex(data), size_bytes=len(data))
    return {bundle_format.MANIFEST_NAME: json.dumps(manifest).encode()}


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        (bundle_format.MANIFEST_NAME, "bundle has no manifest.json"),
        (bundle_format.SPANS_NAME, "bundle has no spans.otlp.json"),
    ],
)
def test_a_bundle_without_manifest_or_spans_is_refused(missing: str, message: str) -> None:
    files = _files()
    del files[missing]

    with pytest.raises(BundleRefused, match=message):
        inspect_bundle(files)


@pytest.mark.parametrize(
    ("path", "content", "message"),
    [
        (bundle_format.MANIFEST_NAME, b"{", "manifest.json is not valid JSON"),
        (bundle_format.SPANS_NAME, b"[]", "spans.otlp.json: body must be a JSON object"),
    ],
)
def test_an_unreadable_manifest_or_spans_file_is_refused(path: str, content: bytes, message: str) -> None:
    files = {**_files(), path: content}

    with pytest.raises(BundleRefused, match=message):
        inspect_bundle(files)

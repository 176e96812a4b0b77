"""Dry replay of demo traces: clean runs pass; corrupted payloads and changed recordings are reported."""

import hashlib
import io
import json
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from tracefoundry.demo import send_demo_traces

from bundles.dry_replay import dry_replay_bundle, dry_replay_stored
from bundles.exports import export_trace
from bundles.tests.factories import rebuilt
from payloads.models import PayloadBlob, SpanPayloadRef
from payloads.storage import storage_key
from traces.models import Span, Trace

pytestmark = pytest.mark.django_db(transaction=True)

RECORDING_REF = "tracefoundry.payload.recording_ref"


@pytest.fixture
def demo_trace(live_server, ingest_key: str) -> str:
    """One run of the demo agent sent to a live server over OTLP/HTTP, with its payloads."""
    summary = send_demo_traces(traces=1, seed="bundles", scenario="happy", url=live_server.url, ingest_key=ingest_key)
    assert summary.spans_failed == 0
    return summary.trace_ids[0]


@pytest.fixture
def demo_trace_in_storage(settings, request: pytest.FixtureRequest) -> str:
    """The demo trace with every payload in the payload storage, none inline in the database."""
    settings.PAYLOAD_INLINE_MAX_BYTES = 0
    return request.getfixturevalue("demo_trace")


def _checks(report) -> dict[str, bool]:
    return {check.name: check.ok for check in report.checks}


def _check(report, name: str):
    return next(check for check in report.checks if check.name == name)


def _replay_bundle(bundle: bytes):
    return dry_replay_bundle(io.BytesIO(bundle), len(bundle))


def _state() -> tuple[object, ...]:
    return (
        list(Trace.objects.order_by("trace_id").values()),
        list(Span.objects.order_by("trace_id", "span_id").values()),
        list(PayloadBlob.objects.order_by("sha256").values()),
        SpanPayloadRef.objects.count(),
        sorted(str(p) for p in Path(django_settings.PAYLOAD_DIR).rglob("*")),
    )


def test_a_clean_demo_trace_passes_with_a_rerun(demo_trace: str) -> None:
    before = _state()

    report = dry_replay_stored(demo_trace)

    assert report.ok, report.as_dict()
    rerun = _check(report, "agent_rerun")
    assert not rerun.skipped
    assert "same structure and names as recorded" in rerun.detail
    assert _check(report, "payload_hashes").detail.endswith(": 0 mismatch(es)")
    assert _state() == before


def test_a_demo_bundle_replays_the_same(demo_trace: str) -> None:
    bundle = export_trace(demo_trace, include_payloads=True, redaction="standard").content

    report = _replay_bundle(bundle)

    assert report.ok, report.as_dict()
    assert report.subject == "bundle"
    assert not _check(report, "agent_rerun").skipped


def test_a_corrupted_payload_in_a_bundle_is_reported(demo_trace: str) -> None:
    bundle = export_trace(demo_trace, include_payloads=True, redaction="standard").content

    def corrupt(files: dict[str, bytes]) -> None:
        path = sorted(path for path in files if path.startswith("payloads/"))[0]
        files[path] = files[path].replace(b"a", b"b", 1) + b"!"

    report = _replay_bundle(rebuilt(bundle, corrupt))

    hashes = _check(report, "payload_hashes")
    assert not report.ok
    assert not hashes.ok
    assert any("content hashes to" in finding and "not to its name" in finding for finding in hashes.findings)
    assert any("does not match the manifest's" in finding for finding in hashes.findings)


def test_a_changed_tool_recording_is_reported_as_a_divergence(demo_trace: str) -> None:
    bundle = export_trace(demo_trace, include_payloads=True, redaction="standard").content

    def change_recording(files: dict[str, bytes]) -> None:
        spans = json.loads(files["spans.otlp.json"])
        root = next(
            span
            for resource in spans["resourceSpans"]
            for scope in resource["scopeSpans"]
            for span in scope["spans"]
            if any(kv["key"] == RECORDING_REF for kv in span["attributes"])
        )
        ref = next(kv for kv in root["attributes"] if kv["key"] == RECORDING_REF)
        old_path = "payloads/" + ref["value"]["stringValue"].removeprefix("sha256:")
        recording = json.loads(files.pop(old_path))
        recording["tool_calls"][0]["error"] = "ToolError: the index is offline"
        content = json.dumps(recording).encode()
        new_sha = hashlib.sha256(content).hexdigest()
        files["payloads/" + new_sha] = content
        ref["value"]["stringValue"] = "sha256:" + new_sha
        files["spans.otlp.json"] = json.dumps(spans).encode()

    report = _replay_bundle(rebuilt(bundle, change_recording, rehash=True))

    rerun = _check(report, "agent_rerun")
    assert _check(report, "payload_hashes").ok
    assert not report.ok
    assert not rerun.ok
    assert "difference(s)" in rerun.detail
    assert any("is not in the re-run" in finding for finding in rerun.findings)
    assert list(report.rerun_differences) == list(rerun.findings)


def test_a_corrupted_stored_blob_is_reported(demo_trace_in_storage: str) -> None:
    blob = (
        PayloadBlob.objects.filter(span_refs__span__trace_id=demo_trace_in_storage, compression="zstd")
        .order_by("sha256")
        .first()
    )
    assert blob is not None
    path = Path(django_settings.PAYLOAD_DIR) / storage_key(blob.sha256)
    path.write_bytes(b"garbage" + path.read_bytes())

    report = dry_replay_stored(demo_trace_in_storage)

    hashes = _check(report, "payload_hashes")
    assert not hashes.ok
    assert hashes.findings == (f"payload sha256:{blob.sha256} is corrupted: it does not decompress",)


def test_a_corrupted_inline_blob_is_reported(demo_trace: str) -> None:
    blob = (
        PayloadBlob.objects.filter(span_refs__span__trace_id=demo_trace, compression="zstd").order_by("sha256").first()
    )
    assert blob is not None
    assert blob.inline_data is not None
    PayloadBlob.objects.filter(sha256=blob.sha256).update(inline_data=b"garbage" + bytes(blob.inline_data))

    report = dry_replay_stored(demo_trace)

    hashes = _check(report, "payload_hashes")
    assert not hashes.ok
    assert hashes.findings == (f"payload sha256:{blob.sha256} is corrupted: it does not decompress",)


def test_a_ref_without_a_stored_blob_is_unresolved(demo_trace: str) -> None:
    span = Span.objects.filter(trace_id=demo_trace).order_by("start_unix_nano").first()
    assert span is not None
    span.attributes["tracefoundry.payload.extra_ref"] = "sha256:" + "9" * 64
    span.save(update_fields=["attributes"])

    report = dry_replay_stored(demo_trace)

    refs = _check(report, "payload_refs")
    assert not refs.ok
    assert refs.findings == (
        f"span {span.span_id} tracefoundry.payload.extra_ref: sha256:{'9' * 64} not found in the payload store",
    )

"""Export and import as use cases and commands: round trips, redaction, idempotence."""

import io
import json
from pathlib import Path
from typing import Any

import pytest
import zstandard
from django.core.management import CommandError, call_command

from bundles import format as bundle_format
from bundles.contracts import ImportResult
from bundles.exports import export_trace
from bundles.imports import import_bundle
from bundles.tests.factories import files_of, manifest_of, store_trace
from payloads.models import PayloadBlob, SpanPayloadRef
from testing.factories import agent_trace
from traces.models import Span, Trace, TraceSource

pytestmark = pytest.mark.django_db

SECRET = "sk-proj-" + "Q7x9" * 8
EMAIL = "dana.fischer@example.org"
MESSAGES = json.dumps([{"role": "user", "parts": [{"type": "text", "content": f"Mail {EMAIL} the report"}]}])


def _trace_with_payloads() -> str:
    specs = agent_trace()
    llm = specs[1]
    llm.attributes.update(
        {
            "gen_ai.input.messages": MESSAGES,
            "gen_ai.output.messages": '[{"role":"assistant"}]',
            "app.customer_email": EMAIL,
        }
    )
    specs[2].attributes["gen_ai.tool.call.result"] = f"found {EMAIL}"
    specs[0].status_code, specs[0].status_message = 2, f"failed for {EMAIL}"
    return store_trace(specs)


def _import(bundle: bytes) -> ImportResult:
    return import_bundle(io.BytesIO(bundle), len(bundle))


def _forget_everything(settings, tmp_path: Path) -> None:
    # A fresh installation: no trace, no payload row, an empty payload folder.
    SpanPayloadRef.objects.all().delete()
    Trace.objects.all().delete()
    PayloadBlob.objects.all().delete()
    settings.PAYLOAD_DIR = tmp_path / "fresh-payloads"


@pytest.mark.parametrize(
    ("redaction", "include_payloads"),
    [("strict", False), ("standard", False), ("standard", True), ("off", False), ("off", True)],
)
def test_round_trip_gives_the_same_spans_and_payload_hashes(
    settings,
    tmp_path: Path,
    redaction: str,
    include_payloads: bool,
) -> None:
    trace_id = _trace_with_payloads()
    first = export_trace(trace_id, include_payloads=include_payloads, redaction=redaction)
    _forget_everything(settings, tmp_path)

    result = _import(first.content)
    second = export_trace(trace_id, include_payloads=include_payloads, redaction=redaction)

    first_files, second_files = files_of(first.content), files_of(second.content)
    assert second_files[bundle_format.SPANS_NAME] == first_files[bundle_format.SPANS_NAME]
    assert sorted(second_files) == sorted(first_files)
    assert result.created
    assert result.span_count == 4
    trace = Trace.objects.get(trace_id=trace_id)
    assert trace.source == TraceSource.BUNDLE_IMPORT
    assert trace.environment == "offline"
    assert set(Span.objects.filter(trace=trace).values_list("environment", flat=True)) == {"offline"}
    assert SpanPayloadRef.objects.filter(span__trace=trace).count() == (3 if include_payloads else 0)


def test_payload_files_are_named_by_their_hash_and_listed_in_the_manifest() -> None:
    bundle = export_trace(_trace_with_payloads(), include_payloads=True, redaction="standard")

    files = files_of(bundle.content)
    manifest = manifest_of(bundle.content)
    payloads = [path for path in files if path.startswith("payloads/")]
    assert len(payloads) == 3
    assert all(bundle_format.sha256_hex(files[path]) == path.removeprefix("payloads/") for path in payloads)
    assert set(manifest["files"]) == set(files) - {"manifest.json"}
    assert all(bundle_format.sha256_hex(files[path]) == entry["sha256"] for path, entry in manifest["files"].items())
    assert EMAIL.encode() in b"".join(files[path] for path in payloads)


def test_a_corrupted_inline_payload_is_left_out_of_the_export_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    trace_id = _trace_with_payloads()
    blob = PayloadBlob.objects.get(span_refs__role="input_messages")
    assert (blob.compression, blob.inline_data is not None) == ("zstd", True)
    PayloadBlob.objects.filter(sha256=blob.sha256).update(inline_data=_tampered())

    files = files_of(export_trace(trace_id, include_payloads=True, redaction="standard").content)

    _assert_left_out(files, blob.sha256, caplog)


def test_a_corrupted_stored_payload_is_left_out_of_the_export_and_logged(
    settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.PAYLOAD_INLINE_MAX_BYTES = 0
    trace_id = _trace_with_payloads()
    blob = PayloadBlob.objects.get(span_refs__role="input_messages")
    assert (blob.compression, blob.inline_data) == ("zstd", None)
    (settings.PAYLOAD_DIR / blob.storage_key).write_bytes(_tampered())

    files = files_of(export_trace(trace_id, include_payloads=True, redaction="standard").content)

    _assert_left_out(files, blob.sha256, caplog)


def _tampered() -> bytes:
    # Well-formed zstd (as the input messages are stored), so it is the hash check that must catch it.
    return zstandard.ZstdCompressor().compress(MESSAGES.replace("Mail", "Wire").encode())


def _assert_left_out(files: dict[str, bytes], sha256: str, caplog: pytest.LogCaptureFixture) -> None:
    payloads = [path for path in files if path.startswith("payloads/")]
    assert len(payloads) == 2
    assert bundle_format.payload_path(sha256) not in files
    assert b"Wire" not in b"".join(files.values())
    assert f"payload sha256:{sha256} is corrupted: its content does not match its hash" in caplog.text


def test_the_manifest_records_the_export_and_its_environment() -> None:
    trace_id = _trace_with_payloads()

    manifest = manifest_of(export_trace(trace_id, include_payloads=True, redaction="standard").content)

    assert manifest["format"] == "tracefoundry-bundle"
    assert manifest["format_version"] == 1
    assert manifest["trace_id"] == trace_id
    assert manifest["redaction"] == "standard"
    assert manifest["payloads_included"] is True
    assert manifest["span_count"] == 4
    assert manifest["tracefoundry_version"] == "0.1.0"
    assert len(manifest["git_commit"]) == 40
    assert manifest["exported_at"].endswith("Z")
    assert set(manifest["environment"]["packages"]) == {
        "Django",
        "djangorestframework",
        "protobuf",
        "opentelemetry-proto",
    }
    assert manifest["environment"]["python"].startswith("3.")


def test_git_commit_falls_back_to_the_setting_outside_a_checkout(settings, tmp_path: Path) -> None:
    settings.BASE_DIR = tmp_path
    settings.GIT_COMMIT = "0123456789abcdef0123456789abcdef01234567"

    manifest = manifest_of(export_trace(_trace_with_payloads(), include_payloads=False, redaction="strict").content)

    assert manifest["git_commit"] == "0123456789abcdef0123456789abcdef01234567"


def test_the_bundle_readme_explains_verification_and_loading() -> None:
    bundle = export_trace(_trace_with_payloads(), include_payloads=False, redaction="strict")

    readme = files_of(bundle.content)["README.md"].decode()

    assert bundle.manifest.trace_id in readme
    assert "sha256sum -c" in readme
    assert "curl -X POST -H 'Content-Type: application/json' --data-binary @spans.otlp.json" in readme


def test_strict_exports_carry_no_payloads_and_only_allowlisted_attributes() -> None:
    bundle = export_trace(_trace_with_payloads(), include_payloads=True, redaction="strict")

    files = files_of(bundle.content)
    keys = {
        kv["key"]
        for resource in json.loads(files["spans.otlp.json"])["resourceSpans"]
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
        for kv in span["attributes"]
    }
    assert not [path for path in files if path.startswith("payloads/")]
    assert manifest_of(bundle.content)["payloads_included"] is False
    assert "app.customer_email" not in keys
    assert "gen_ai.request.model" in keys
    assert "tracefoundry.payload.input_messages_ref" in keys
    assert EMAIL.encode() not in b"".join(files.values())


def test_exports_are_never_less_redacted_than_what_was_stored() -> None:
    specs = agent_trace()
    specs[1].attributes.update({"app.note": f"key {SECRET}", "gen_ai.input.messages": f'["use {SECRET}"]'})
    trace_id = store_trace(specs)

    bundle = export_trace(trace_id, include_payloads=True, redaction="off")

    assert SECRET.encode() not in b"".join(files_of(bundle.content).values())


def test_payloads_stored_unredacted_are_redacted_and_renamed_on_export(settings) -> None:
    settings.REDACTION_MODE = "off"
    specs = agent_trace()
    specs[1].attributes["gen_ai.input.messages"] = f'["use {SECRET}"]'
    trace_id = store_trace(specs)
    stored_ref = Span.objects.get(trace_id=trace_id, span_id=specs[1].span_id).attributes[
        "tracefoundry.payload.input_messages_ref"
    ]

    bundle = export_trace(trace_id, include_payloads=True, redaction="standard")

    files = files_of(bundle.content)
    (path,) = [path for path in files if path.startswith("payloads/")]
    span = next(
        span
        for resource in json.loads(files["spans.otlp.json"])["resourceSpans"]
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
        if span["spanId"] == specs[1].span_id
    )
    ref = next(
        kv["value"]["stringValue"]
        for kv in span["attributes"]
        if kv["key"] == "tracefoundry.payload.input_messages_ref"
    )
    assert SECRET.encode() not in files[path]
    assert b"[REDACTED:openai_api_key]" in files[path]
    assert ref == "sha256:" + path.removeprefix("payloads/")
    assert ref != stored_ref


def test_importing_the_same_bundle_twice_changes_nothing() -> None:
    trace_id = _trace_with_payloads()
    bundle = export_trace(trace_id, include_payloads=True, redaction="standard").content
    Trace.objects.all().delete()
    _import(bundle)
    before = _everything_stored()

    result = _import(bundle)

    assert not result.created
    assert _everything_stored() == before


def _everything_stored() -> tuple[list[Any], ...]:
    return (
        list(Trace.objects.values()),
        list(Span.objects.order_by("trace_id", "span_id").values()),
        list(PayloadBlob.objects.order_by("sha256").values("sha256", "size_bytes", "content_type", "storage_key")),
        list(SpanPayloadRef.objects.order_by("span_id", "role").values("span_id", "blob_id", "role", "attribute")),
    )


def test_commands_export_import_and_dry_replay(settings, tmp_path: Path, capsys) -> None:
    trace_id = store_trace(agent_trace())
    output = tmp_path / "bundle.zip"

    call_command("export_trace", trace_id, "-o", str(output), "--payloads", "--redaction", "standard")
    _forget_everything(settings, tmp_path)
    call_command("import_trace", str(output))
    call_command("import_trace", str(output))
    call_command("dry_replay", trace_id)
    call_command("dry_replay", str(output), "--json")

    printed = capsys.readouterr().out
    assert f"Wrote {output}" in printed
    assert f"Trace {trace_id}: imported (4 spans, 0 payloads, redaction standard)" in printed
    assert f"Trace {trace_id}: already stored, nothing changed" in printed
    assert f"Dry replay of stored trace {trace_id} (4 spans)" in printed
    assert "Result: all checks passed" in printed
    report = json.loads(printed[printed.index("{\n") :])
    assert report["ok"] is True
    assert [check["name"] for check in report["checks"]] == [
        "bundle_files",
        "span_tree",
        "timing",
        "clock_skew",
        "payload_refs",
        "payload_hashes",
        "agent_rerun",
    ]


def test_commands_refuse_with_the_reason(tmp_path: Path) -> None:
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"not a zip")

    with pytest.raises(CommandError, match="upload is not a zip file"):
        call_command("import_trace", str(broken))
    with pytest.raises(CommandError, match="no such trace"):
        call_command("export_trace", "a" * 32)
    with pytest.raises(CommandError, match="strict exports carry no payloads"):
        call_command("export_trace", "a" * 32, "--payloads")
    with pytest.raises(CommandError) as strict_with_payloads:
        call_command("export_trace", "a" * 32, "--payloads", "--redaction", "strict")
    assert str(strict_with_payloads.value) == bundle_format.STRICT_CARRIES_NO_PAYLOADS

"""Import never merges: a bundle whose trace id is stored with other content is refused (409 naming the
differences) unless imported under a new trace id; the same bundle again stays a no-op."""

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from bundles.exports import export_trace
from bundles.tests.factories import manifest_of, rebuilt, store_trace
from payloads.models import PayloadBlob, SpanPayloadRef
from testing.factories import agent_trace
from traces.models import Span, Trace

pytestmark = pytest.mark.django_db

ADDED_SPAN_ID = "5eed5eed5eed5eed"


@pytest.fixture
def strict_bundle(settings, tmp_path: Path) -> bytes:
    """A strict bundle of an agent trace, exported from an installation then imported into a fresh one."""
    exported = export_trace(store_trace(agent_trace()), include_payloads=False, redaction="strict").content
    SpanPayloadRef.objects.all().delete()
    Trace.objects.all().delete()
    PayloadBlob.objects.all().delete()
    settings.PAYLOAD_DIR = tmp_path / "fresh-payloads"
    return exported


def _upload(user: User, bundle: bytes, **options: Any):
    client = APIClient()
    client.force_authenticate(user)
    return client.post("/api/bundles/import", {"bundle": io.BytesIO(bundle), **options}, format="multipart")


def _add_a_costly_failing_span_and_rename_another(files: dict[str, bytes]) -> None:
    spans = json.loads(files["spans.otlp.json"])
    scope_spans = spans["resourceSpans"][0]["scopeSpans"][0]["spans"]
    root = next(span for span in scope_spans if not span["parentSpanId"])
    tool = next(span for span in scope_spans if span["name"].startswith("execute_tool"))
    tool["name"] = "execute_tool renamed"
    scope_spans.append(
        {
            **root,
            "spanId": ADDED_SPAN_ID,
            "parentSpanId": root["spanId"],
            "name": "chat gpt-4o",
            "attributes": [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                {"key": "tracefoundry.cost.usd", "value": {"doubleValue": 999}},
            ],
            "status": {"code": 2, "message": "failed"},
        }
    )
    files["spans.otlp.json"] = json.dumps(spans).encode()
    manifest = json.loads(files["manifest.json"])
    manifest["span_count"] += 1
    files["manifest.json"] = json.dumps(manifest).encode()


def _stored() -> tuple[list[Any], ...]:
    return (
        list(Trace.objects.order_by("trace_id").values()),
        list(Span.objects.order_by("trace_id", "span_id").values()),
    )


def test_an_edited_bundle_is_refused_with_its_differences_and_changes_nothing(
    strict_bundle: bytes, engineer: User
) -> None:
    trace_id = manifest_of(strict_bundle)["trace_id"]
    assert _upload(engineer, strict_bundle).status_code == 201
    assert _upload(engineer, strict_bundle).json()["created"] is False
    before = _stored()
    tool_span = Span.objects.get(trace_id=trace_id, name__startswith="execute_tool").span_id
    edited = rebuilt(strict_bundle, _add_a_costly_failing_span_and_rename_another, rehash=True)

    response = _upload(engineer, edited)

    assert response.status_code == 409
    body = response.json()
    assert body["trace_id"] == trace_id
    assert "already stored with different content" in body["detail"]
    cost = Trace.objects.get().cost_usd
    assert body["differences"] == [
        f"span {ADDED_SPAN_ID} ('chat gpt-4o') added",
        f"span {tool_span} ('execute_tool search') changed: name",
        "summary span_count: 4 stored, 5 in the bundle",
        "summary error_count: 1 stored, 2 in the bundle",
        "summary llm_call_count: 2 stored, 3 in the bundle",
        f"summary cost_usd: {cost.normalize():f} stored, {(cost + 999).normalize():f} in the bundle",
    ]
    assert _stored() == before


def test_an_edited_bundle_imports_under_a_new_trace_id_when_asked(strict_bundle: bytes, engineer: User) -> None:
    original = manifest_of(strict_bundle)["trace_id"]
    _upload(engineer, strict_bundle)
    before = _stored()
    edited = rebuilt(strict_bundle, _add_a_costly_failing_span_and_rename_another, rehash=True)

    response = _upload(engineer, edited, as_new_trace="true")

    assert response.status_code == 201
    result = response.json()
    new_id = result["trace_id"]
    assert (result["original_trace_id"], result["span_count"], result["created"]) == (original, 5, True)
    assert new_id != original
    assert len(new_id) == 32
    copy = Trace.objects.get(trace_id=new_id)
    assert (copy.span_count, copy.status, copy.environment, copy.source) == (5, "error", "offline", "bundle_import")
    assert Span.objects.filter(trace_id=new_id, span_id=ADDED_SPAN_ID).exists()
    assert [t for t in _stored()[0] if t["trace_id"] == original] == before[0]


def test_the_command_refuses_with_the_differences_and_imports_under_a_new_id(
    strict_bundle: bytes, tmp_path: Path, capsys
) -> None:
    original = manifest_of(strict_bundle)["trace_id"]
    first, edited = tmp_path / "first.zip", tmp_path / "edited.zip"
    first.write_bytes(strict_bundle)
    edited.write_bytes(rebuilt(strict_bundle, _add_a_costly_failing_span_and_rename_another, rehash=True))
    call_command("import_trace", str(first))

    with pytest.raises(CommandError, match=f"(?s)trace {original} is already stored.*span {ADDED_SPAN_ID}"):
        call_command("import_trace", str(edited))
    call_command("import_trace", str(edited), "--as-new-trace")

    new_id = Trace.objects.exclude(trace_id=original).get().trace_id
    assert f"Trace {new_id}: imported under a new trace id (the bundle's is {original})" in capsys.readouterr().out

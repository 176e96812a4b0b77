"""Payload retention on the filesystem and on S3 (a moto server on a free loopback port): refs of old spans go
in batches, blobs nothing references leave storage and table (inline blobs just their table), shared and
young payloads stay, and a trace whose payloads expired still opens."""

import io
import random
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from conftest import PASSWORD
from payloads import retention
from payloads.ingest import store_payload
from payloads.models import PayloadBlob, SpanPayloadRef
from payloads.storage import storage_key
from testing.factories import SpanSpec, export_request, new_span_id, new_trace_id
from traces.ingest import ingest_request
from traces.models import Span, Trace

DAY_NS = 86_400 * 1_000_000_000
StoredKeys = Callable[[], set[str]]


@pytest.fixture
def filesystem_payloads(settings, tmp_path: Path) -> StoredKeys:
    settings.PAYLOAD_STORAGE = "filesystem"
    settings.PAYLOAD_DIR = tmp_path / "payloads"
    settings.PAYLOAD_INLINE_MAX_BYTES = 0  # every blob in the storage, unless a test says otherwise

    def stored() -> set[str]:
        root = settings.PAYLOAD_DIR
        return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}

    return stored


@pytest.fixture
def s3_payloads(s3_bucket: str, s3_client: Any, settings) -> StoredKeys:
    settings.PAYLOAD_INLINE_MAX_BYTES = 0  # every blob in the storage, unless a test says otherwise

    def stored() -> set[str]:
        return {item["Key"] for item in s3_client.list_objects_v2(Bucket=s3_bucket).get("Contents", [])}

    return stored


@pytest.fixture(params=["filesystem_payloads", "s3_payloads"])
def stored_keys(request: pytest.FixtureRequest) -> StoredKeys:
    return request.getfixturevalue(request.param)


def ingest_llm_trace(age_days: float, prompt: str, answer: str) -> str:
    """A root span and an LLM span whose input and output are payloads, `age_days` old."""
    trace_id, root = new_trace_id(), new_span_id()
    start = time.time_ns() - int(age_days * DAY_NS)
    ingest_request(
        export_request(
            [
                SpanSpec(trace_id, root, "invoke_agent", start_ns=start, duration_ns=10_000_000),
                SpanSpec(
                    trace_id,
                    new_span_id(),
                    "chat gpt-4o",
                    root,
                    start + 1_000_000,
                    5_000_000,
                    attributes={
                        "gen_ai.operation.name": "chat",
                        "gen_ai.request.model": "gpt-4o",
                        "input.value": prompt,
                        "output.value": answer,
                    },
                ),
            ]
        )
    )
    # As in real life, the trace was last ingested and its blobs last referenced when its spans arrived.
    arrived = timezone.now() - timedelta(days=age_days)
    Trace.objects.filter(trace_id=trace_id).update(last_ingested_at=arrived)
    shas = SpanPayloadRef.objects.filter(span__trace_id=trace_id).values_list("blob_id", flat=True)
    PayloadBlob.objects.filter(sha256__in=list(shas)).update(last_referenced_at=arrived)
    return trace_id


def long_answer(topic: str) -> str:
    """An answer of made-up words that zstd cannot shrink below a few hundred bytes."""
    rng = random.Random(topic)
    return f"{topic}: " + " ".join("".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=7)) for _ in range(120))


def blob_keys_of(trace_id: str) -> set[str]:
    return {
        storage_key(sha)
        for sha in SpanPayloadRef.objects.filter(span__trace_id=trace_id).values_list("blob_id", flat=True)
    }


@pytest.mark.django_db
class TestExpirePayloads:
    def test_deletes_old_refs_and_unreferenced_blobs_only(self, stored_keys: StoredKeys) -> None:
        old = ingest_llm_trace(4, "old prompt about Paris", "an answer both traces share")
        young = ingest_llm_trace(1, "young prompt about Rome", "an answer both traces share")
        old_keys, young_keys = blob_keys_of(old), blob_keys_of(young)
        only_old = old_keys - young_keys
        assert len(only_old) == 1
        assert stored_keys() == old_keys | young_keys
        summaries = {t.trace_id: (t.span_count, t.llm_call_count, t.start_unix_nano) for t in Trace.objects.all()}

        result = retention.expire_payloads(days=3, batch_size=1)

        assert (result.refs_deleted, result.blobs_deleted) == (2, 1)
        assert result.batches >= 3
        assert not SpanPayloadRef.objects.filter(span__trace_id=old).exists()
        assert SpanPayloadRef.objects.filter(span__trace_id=young).count() == 2
        assert stored_keys() == young_keys
        assert set(PayloadBlob.objects.values_list("storage_key", flat=True)) == young_keys
        assert Span.objects.filter(trace_id=old).count() == 2
        assert {t.trace_id: (t.span_count, t.llm_call_count, t.start_unix_nano) for t in Trace.objects.all()} == (
            summaries
        )

    def test_metadata_expiry_then_sweep_removes_blobs_of_deleted_traces(self, stored_keys: StoredKeys) -> None:
        expired = ingest_llm_trace(9, "a prompt from last week", "a reply from last week")
        kept = ingest_llm_trace(0.5, "a prompt from today", "a reply from today")
        kept_keys = blob_keys_of(kept)
        out = io.StringIO()

        call_command("run_retention", stdout=out)

        assert not Trace.objects.filter(trace_id=expired).exists()
        assert stored_keys() == kept_keys
        assert "deleted 1 traces, 2 spans" in out.getvalue()
        assert "deleted 0 payload refs, 2 blobs" in out.getvalue()

    def test_dry_run_counts_without_deleting(self, filesystem_payloads: StoredKeys) -> None:
        ingest_llm_trace(4, "old prompt", "old answer")
        ingest_llm_trace(1, "young prompt", "young answer")
        before = filesystem_payloads()

        result = retention.expire_payloads(days=3, dry_run=True)

        assert (result.refs_deleted, result.blobs_deleted, result.dry_run) == (2, 2, True)
        assert filesystem_payloads() == before
        assert SpanPayloadRef.objects.count() == 4

    def test_a_recently_referenced_blob_without_refs_is_kept(self, filesystem_payloads: StoredKeys) -> None:
        uploaded = store_payload(b"uploaded by an SDK, not linked to a span yet", "text/plain")

        result = retention.expire_payloads(days=3)

        assert result.blobs_deleted == 0
        assert PayloadBlob.objects.filter(sha256=uploaded.sha256).exists()
        assert filesystem_payloads() == {storage_key(uploaded.sha256)}


@pytest.mark.django_db
class TestExpireInlinePayloads:
    def test_inline_blobs_leave_with_their_rows_and_stored_ones_with_their_objects(
        self, stored_keys: StoredKeys, settings
    ) -> None:
        # Short prompts are kept inline, long answers go to the storage.
        settings.PAYLOAD_INLINE_MAX_BYTES = 200
        old = ingest_llm_trace(4, "old prompt about Paris", long_answer("old"))
        young = ingest_llm_trace(1, "young prompt about Rome", long_answer("young"))
        old_shas, young_shas = shas_of(old), shas_of(young)
        assert inline_shas() == {min(old_shas, key=blob_size), min(young_shas, key=blob_size)}
        assert stored_keys() == {storage_key(max(shas, key=blob_size)) for shas in (old_shas, young_shas)}

        result = retention.expire_payloads(days=3)

        assert (result.refs_deleted, result.blobs_deleted) == (2, 2)
        assert set(PayloadBlob.objects.values_list("sha256", flat=True)) == young_shas
        assert stored_keys() == {storage_key(max(young_shas, key=blob_size))}

    def test_sweeping_only_inline_blobs_leaves_the_storage_alone(self, stored_keys: StoredKeys, settings) -> None:
        settings.PAYLOAD_INLINE_MAX_BYTES = 16384
        old = ingest_llm_trace(4, "old prompt about Paris", "an old answer")
        settings.PAYLOAD_INLINE_MAX_BYTES = 0
        young = ingest_llm_trace(1, "young prompt about Rome", "a young answer")
        assert inline_shas() == shas_of(old)
        before = stored_keys()
        assert before == blob_keys_of(young)

        result = retention.expire_payloads(days=3)

        assert (result.refs_deleted, result.blobs_deleted) == (2, 2)
        assert set(PayloadBlob.objects.values_list("sha256", flat=True)) == shas_of(young)
        assert stored_keys() == before


def shas_of(trace_id: str) -> set[str]:
    return set(SpanPayloadRef.objects.filter(span__trace_id=trace_id).values_list("blob_id", flat=True))


def inline_shas() -> set[str]:
    return set(PayloadBlob.objects.filter(inline_data__isnull=False).values_list("sha256", flat=True))


def blob_size(sha256: str) -> int:
    return PayloadBlob.objects.get(sha256=sha256).size_bytes


@pytest.mark.django_db
def test_a_trace_whose_payloads_expired_still_opens(filesystem_payloads: StoredKeys, engineer: User) -> None:
    trace_id = ingest_llm_trace(4, "what is the weather in Oslo", "rainy, as always")
    llm = Span.objects.get(trace_id=trace_id, name="chat gpt-4o")
    input_ref = llm.attributes["tracefoundry.payload.input_ref"]
    client = Client()
    client.login(username=engineer.username, password=PASSWORD)

    retention.expire_payloads(days=3)

    assert client.get(f"/api/traces/{trace_id}").status_code == 200
    spans = client.get(f"/api/traces/{trace_id}/spans")
    assert spans.status_code == 200
    assert {item["name"] for item in spans.json()["items"]} == {"invoke_agent", "chat gpt-4o"}
    detail = client.get(f"/api/spans/{llm.span_id}")
    assert detail.status_code == 200
    # The span keeps the ref attributes (the marker of an expired payload); the refs and the content are gone.
    assert detail.json()["attributes"]["tracefoundry.payload.input_ref"] == input_ref
    assert "tracefoundry.payload.output_ref" in detail.json()["attributes"]
    assert not SpanPayloadRef.objects.filter(span=llm).exists()
    assert client.get(f"/api/payloads/{input_ref}").status_code == 404
    refs = {item["role"]: item for item in detail.json()["payload_refs"]}
    assert refs["input"]["ref"] == input_ref
    assert (refs["input"]["status"], refs["output"]["status"]) == ("expired", "expired")
    assert refs["input"]["size_bytes"] == len("what is the weather in Oslo")

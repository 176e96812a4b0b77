"""No orphan blobs: the bytes a refused batch wrote are removed (the database refuses its spans through a real
trigger), on the filesystem and on S3 (a moto server); retention sweeps stored objects that no row names once
they are older than the grace period, and keeps younger ones (batches in flight) and referenced ones."""

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from payloads import retention, storage
from payloads.hashing import sha256_hex
from payloads.models import PayloadBlob
from testing.factories import SpanSpec, export_request, new_span_id, new_trace_id
from traces.ingest import ingest_request
from traces.models import Span

StoredKeys = Callable[[], set[str]]
REFUSED_NAME = "refused by the database"
# A trigger refusing spans of one name, so the failure is the database's own, after capture and blob writes.
_REFUSING_TRIGGER = {
    "sqlite": (
        [
            f"CREATE TRIGGER refuse_span BEFORE INSERT ON spans WHEN NEW.name = '{REFUSED_NAME}' "
            "BEGIN SELECT RAISE(ABORT, 'span refused by a test trigger'); END"
        ],
        ["DROP TRIGGER refuse_span"],
    ),
    "postgresql": (
        [
            "CREATE FUNCTION refuse_span() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'span refused by a test trigger'; END $$",
            f"CREATE TRIGGER refuse_span BEFORE INSERT ON spans FOR EACH ROW WHEN (NEW.name = '{REFUSED_NAME}') "
            "EXECUTE FUNCTION refuse_span()",
        ],
        ["DROP TRIGGER refuse_span ON spans", "DROP FUNCTION refuse_span()"],
    ),
}


@pytest.fixture
def filesystem_payloads(settings, tmp_path: Path) -> StoredKeys:
    settings.PAYLOAD_STORAGE = "filesystem"
    settings.PAYLOAD_DIR = tmp_path / "payloads"
    settings.PAYLOAD_INLINE_MAX_BYTES = 0

    def stored() -> set[str]:
        root = settings.PAYLOAD_DIR
        return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}

    return stored


@pytest.fixture
def s3_payloads(s3_bucket: str, s3_client: Any, settings) -> StoredKeys:
    settings.PAYLOAD_INLINE_MAX_BYTES = 0

    def stored() -> set[str]:
        return {item["Key"] for item in s3_client.list_objects_v2(Bucket=s3_bucket).get("Contents", [])}

    return stored


@pytest.fixture(params=["filesystem_payloads", "s3_payloads"])
def stored_keys(request: pytest.FixtureRequest) -> StoredKeys:
    return request.getfixturevalue(request.param)


@pytest.fixture
def refusing_database(db: None) -> Iterator[None]:
    create, drop = _REFUSING_TRIGGER[connection.vendor]
    with connection.cursor() as cursor:
        for statement in create:
            cursor.execute(statement)
    yield
    with connection.cursor() as cursor:
        for statement in drop:
            cursor.execute(statement)


def _llm_span(name: str, prompt: str) -> SpanSpec:
    return SpanSpec(
        new_trace_id(),
        new_span_id(),
        name,
        attributes={"gen_ai.operation.name": "chat", "input.value": prompt, "output.value": f"answer to {prompt}"},
    )


@pytest.mark.django_db
def test_a_refused_batch_leaves_no_bytes_behind(stored_keys: StoredKeys, refusing_database: None) -> None:
    kept = _llm_span("chat gpt-4o", "a prompt that is stored")
    ingest_request(export_request([kept]))
    before = stored_keys()

    with pytest.raises(DatabaseError):
        ingest_request(export_request([_llm_span(REFUSED_NAME, "a prompt whose batch is refused")]))

    assert len(before) == 2
    assert stored_keys() == before
    assert Span.objects.filter(name=REFUSED_NAME).count() == 0
    assert {storage.storage_key(sha) for sha in PayloadBlob.objects.values_list("sha256", flat=True)} == before


@pytest.mark.django_db
def test_a_refused_batch_keeps_bytes_another_row_references(stored_keys: StoredKeys, refusing_database: None) -> None:
    ingest_request(export_request([_llm_span("chat gpt-4o", "the same prompt")]))
    before = stored_keys()

    with pytest.raises(DatabaseError):
        ingest_request(export_request([_llm_span(REFUSED_NAME, "the same prompt")]))

    # Its input was stored already (not written again); its output was new and is gone.
    assert stored_keys() == before


@pytest.mark.django_db
def test_the_sweep_deletes_old_objects_without_a_row_and_keeps_the_rest(stored_keys: StoredKeys) -> None:
    ingest_request(export_request([_llm_span("chat gpt-4o", "a prompt a span refers to")]))
    referenced = stored_keys()
    backend = storage.payload_storage()
    orphan_key = storage.storage_key(sha256_hex(b"bytes whose batch was refused"))
    storage.write(backend, orphan_key, b"bytes whose batch was refused")
    storage.write(backend, "ab/cd/.incoming-interrupted", b"half a write")

    young = retention.expire_payloads()
    later = retention.expire_payloads(now=timezone.now() + timedelta(hours=2))

    assert young.orphan_files_deleted == 0
    assert later.orphan_files_deleted == 2
    assert len(referenced) == 2
    assert stored_keys() == referenced

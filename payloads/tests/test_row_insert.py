"""Inserting blob and ref rows (COPY on Postgres, bulk_create on SQLite): blob rows already stored, for instance
by a concurrent batch with the same content, are left as they are; refs are only inserted for new spans, so a
duplicate is refused; several inserts in one transaction each store their rows once."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from payloads.hashing import sha256_hex
from payloads.models import PayloadBlob, SpanPayloadRef
from payloads.row_insert import BlobRow, RefRow, insert_blobs, insert_refs
from testing.factories import SpanSpec, export_request, new_span_id, new_trace_id
from traces.ingest import ingest_request
from traces.models import Span

pytestmark = pytest.mark.django_db


def _inline(text: str) -> BlobRow:
    content = text.encode()
    return BlobRow(sha256_hex(content), len(content), len(content), "none", "text/plain", "standard", "", content)


def _stored(text: str) -> BlobRow:
    content = text.encode()
    sha = sha256_hex(content)
    return BlobRow(
        sha, len(content), len(content), "none", "text/plain", "standard", f"{sha[:2]}/{sha[2:4]}/{sha}", None
    )


def _span_pks(count: int) -> list[int]:
    trace_id = new_trace_id()
    ingest_request(export_request([SpanSpec(trace_id, new_span_id(), f"step {i}") for i in range(count)]))
    return list(Span.objects.filter(trace_id=trace_id).order_by("pk").values_list("pk", flat=True))


def test_a_blob_row_already_stored_is_left_as_it_is() -> None:
    earlier = timezone.now() - timedelta(hours=2)
    insert_blobs([_inline("first copy")], earlier)

    insert_blobs([_stored("first copy"), _inline("another")], timezone.now())

    rows = {sha: (key, bytes(data), created) for sha, key, data, created in _blob_values()}
    assert set(rows) == {sha256_hex(b"first copy"), sha256_hex(b"another")}
    assert rows[sha256_hex(b"first copy")] == ("", b"first copy", earlier)
    assert rows[sha256_hex(b"another")][:2] == ("", b"another")


def _blob_values() -> list[tuple]:
    return list(PayloadBlob.objects.values_list("sha256", "storage_key", "inline_data", "created_at"))


def test_ref_rows_are_inserted_and_a_duplicate_is_refused() -> None:
    blob = _inline("shared answer")
    insert_blobs([blob], timezone.now())
    first, second = _span_pks(2)

    insert_refs([RefRow(first, blob.sha256, "output", "output.value"), RefRow(second, blob.sha256, "output", "x")])

    assert sorted(SpanPayloadRef.objects.values_list("span_id", "role", "attribute")) == [
        (first, "output", "output.value"),
        (second, "output", "x"),
    ]
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_refs([RefRow(first, blob.sha256, "output", "output.value")])


def test_several_inserts_in_one_transaction_each_store_their_rows_once() -> None:
    span_pks = _span_pks(6)
    now = timezone.now()
    batches = [[_inline(f"batch {batch} blob {i}") for i in range(700)] for batch in range(2)]

    with transaction.atomic():
        for batch, rows in enumerate(batches):
            insert_blobs(rows, now)
            insert_blobs(rows[:10], now)
            pks = span_pks[batch * 3 : batch * 3 + 3]
            insert_refs([RefRow(pk, rows[i].sha256, "input", "input.value") for i, pk in enumerate(pks)])

    assert PayloadBlob.objects.count() == 1400
    assert SpanPayloadRef.objects.count() == 6
    assert set(SpanPayloadRef.objects.values_list("blob_id", flat=True)) == {
        row.sha256 for rows in batches for row in rows[:3]
    }

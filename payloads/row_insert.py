"""Insert payload blob rows and span payload ref rows: COPY on Postgres, Django's bulk_create elsewhere (SQLite).

COPY is several times faster than bulk_create's multi-row INSERT, whose thousands of parameters psycopg quotes
one by one (see `traces.span_insert`), but it cannot skip rows already stored:
- Ref rows are only ever inserted for spans inserted in the same transaction (`payloads.ingest`), so none can
  be stored yet: they are copied straight into their table.
- A blob row may already be stored (the same content committed meanwhile by a concurrent batch), and is then
  left as it is. Blob rows are copied straight in, in a savepoint; when that meets a stored one, they are copied
  into a temporary staging table instead and moved by one `INSERT ... SELECT ... ON CONFLICT DO NOTHING` that
  also deletes them from it. The staging table is created once per database session, not per batch (catalog
  churn), and is `ON COMMIT DELETE ROWS`: temporary tables are never vacuumed, and a commit truncating it is
  what keeps it from growing with dead rows.

Known limit: the staging tables are created from the real tables' column types when a session first inserts;
a session opened before a migration that changes those columns keeps the old types until it reconnects.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from django.db import IntegrityError, connection, transaction
from django.db.models import Model

from payloads.models import PayloadBlob, SpanPayloadRef
from tracefoundry_site.copy_rows import copy_rows


class BlobRow(NamedTuple):
    """A `payload_blobs` row to insert (its created and last-referenced times are the insert's)."""

    sha256: str
    size_bytes: int
    stored_size_bytes: int
    compression: str
    content_type: str
    redaction_mode: str
    storage_key: str
    inline_data: bytes | None


class RefRow(NamedTuple):
    span_pk: int
    sha256: str
    role: str
    attribute: str


def _columns(model: type[Model], attnames: Sequence[str]) -> list[str]:
    by_attname = {field.attname: field.column for field in model._meta.concrete_fields if field.column}
    return [by_attname[name] for name in attnames]


_BLOB_COLUMNS = _columns(PayloadBlob, [*BlobRow._fields, "created_at", "last_referenced_at"])
_REF_COLUMNS = _columns(SpanPayloadRef, ["span_id", "blob_id", "role", "attribute"])
_BULK_BATCH_SIZE = 1000


def insert_blobs(rows: Sequence[BlobRow], now: datetime) -> None:
    """Insert the blob rows not stored yet, created and last referenced `now`."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        # In key order, so two batches inserting the same new blobs wait on each other instead of deadlocking.
        values = [(*row, now, now) for row in sorted(rows)]
        try:
            # Straight in, in a savepoint: the staging detour is only needed when one of the blobs is there already
            # (a concurrent batch with the same content committed it since `store_blobs` looked).
            with transaction.atomic():
                copy_rows(f'COPY "{PayloadBlob._meta.db_table}" ({_names(_BLOB_COLUMNS)}) FROM STDIN', values)
        except IntegrityError:
            _copy_skipping_conflicts(PayloadBlob._meta.db_table, _BLOB_COLUMNS, values)
    else:
        PayloadBlob.objects.bulk_create(
            [PayloadBlob(**row._asdict(), created_at=now, last_referenced_at=now) for row in rows],
            ignore_conflicts=True,
            batch_size=_BULK_BATCH_SIZE,
        )


def insert_refs(rows: Sequence[RefRow]) -> None:
    """Insert the ref rows of spans inserted in this transaction (none of their refs can be stored yet)."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        copy_rows(f'COPY "{SpanPayloadRef._meta.db_table}" ({_names(_REF_COLUMNS)}) FROM STDIN', rows)
    else:
        SpanPayloadRef.objects.bulk_create(
            [SpanPayloadRef(span_id=r.span_pk, blob_id=r.sha256, role=r.role, attribute=r.attribute) for r in rows],
            batch_size=_BULK_BATCH_SIZE,
        )


def _names(columns: list[str]) -> str:
    return ", ".join(f'"{column}"' for column in columns)


def _copy_skipping_conflicts(table: str, columns: list[str], rows: Sequence[Sequence[object]]) -> None:
    # Rows go in in the order of the first column (the key). Every name below comes from the models, never input.
    staging = f"{table}_incoming"
    names = _names(columns)
    # One transaction at least: in autocommit, the copied rows would be deleted by the COPY's own commit.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            f'CREATE TEMPORARY TABLE IF NOT EXISTS "{staging}" ON COMMIT DELETE ROWS '  # noqa: S608
            f'AS SELECT {names} FROM "{table}" WITH NO DATA'
        )
        copy_rows(f'COPY "{staging}" ({names}) FROM STDIN', rows)
        cursor.execute(
            f'WITH incoming AS (DELETE FROM "{staging}" RETURNING {names}) '  # noqa: S608
            f'INSERT INTO "{table}" ({names}) SELECT {names} FROM incoming ORDER BY "{columns[0]}" '
            "ON CONFLICT DO NOTHING"
        )

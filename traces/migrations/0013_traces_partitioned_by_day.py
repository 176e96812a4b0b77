"""Trace summaries partitioned by UTC day of `ingested_at` on Postgres, beside the spans' days (SQLite: nothing).

Retention drops a day of summaries with its day of spans instead of deleting its rows one by one (reading and
rewriting every page of them was most of a day's drop). `ingested_at` (when the trace's first span arrived) never
changes, so a summary never moves between partitions, and a trace's first day of spans is normally its own day.

A partitioned table's unique indexes must include its partition key, so `traces` can no longer refuse a second row
for a trace id by itself: `trace_keys` holds one row per stored trace, and ingest inserts the key first (`ON
CONFLICT DO NOTHING`) and the summary only for the keys it inserted, which keeps two concurrent ingests of one new
trace from making two rows. A statement trigger deletes the keys of deleted summaries (the row pass, the admin);
a dropped day's keys are deleted by the drop. The primary key becomes (trace_id, ingested_at); Django still sees
`trace_id`.

Existing rows move as in 0011: the old table is renamed, a partitioned one made in its shape with a default
partition and one partition per day from the start of the retention window to SPAN_PARTITION_DAYS_AHEAD ahead, the
rows copied, every index built again from the catalog, the old table dropped. Reversible the same way.

Self-contained on purpose (no import of app code): migrations must keep working as the code moves on.
"""

import math
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import migrations

_DROP_KEYS_OF_DELETED_TRACES = """
CREATE FUNCTION trace_keys_of_deleted_traces() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM trace_keys k USING deleted_traces d WHERE k.trace_id = d.trace_id;
    RETURN NULL;
END $$;
CREATE TRIGGER traces_deleted_keys AFTER DELETE ON traces REFERENCING OLD TABLE AS deleted_traces
    FOR EACH STATEMENT EXECUTE FUNCTION trace_keys_of_deleted_traces();
"""


def _has_partitioned_traces(cursor) -> bool:
    cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass('traces'))")
    return bool(cursor.fetchone()[0])


def _rebuild_traces(schema_editor, *, partitioned: bool) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if _has_partitioned_traces(cursor) == partitioned:
            return
        if not partitioned:
            cursor.execute("DROP TRIGGER IF EXISTS traces_deleted_keys ON traces")
            cursor.execute("DROP FUNCTION IF EXISTS trace_keys_of_deleted_traces()")
            cursor.execute("DROP TABLE IF EXISTS trace_keys")
        cursor.execute(
            """
            SELECT i.relname, pg_get_indexdef(i.oid), con.conname, con.contype, pg_get_constraintdef(con.oid)
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.conrelid = x.indrelid
            WHERE x.indrelid = 'traces'::regclass
            """
        )
        indexes = cursor.fetchall()
        cursor.execute("ALTER TABLE traces RENAME TO traces_previous")
        for name, *_ in indexes:
            cursor.execute(f'ALTER INDEX "{name}" RENAME TO "{name[:50]}_previous"')
        layout = "PARTITION BY RANGE (ingested_at)" if partitioned else ""
        cursor.execute(f"CREATE TABLE traces (LIKE traces_previous INCLUDING DEFAULTS INCLUDING CONSTRAINTS) {layout}")
        if partitioned:
            cursor.execute("CREATE TABLE traces_default PARTITION OF traces DEFAULT")
            today = datetime.now(UTC).date()
            behind = math.ceil(getattr(settings, "RETENTION_METADATA_DAYS", 7)) + 1
            ahead = getattr(settings, "SPAN_PARTITION_DAYS_AHEAD", 3)
            for offset in range(-behind, ahead + 1):
                day = today + timedelta(days=offset)
                cursor.execute(
                    f"CREATE TABLE traces_p{day:%Y%m%d} PARTITION OF traces "
                    f"FOR VALUES FROM ('{day.isoformat()} 00:00:00+00') "
                    f"TO ('{(day + timedelta(days=1)).isoformat()} 00:00:00+00')"
                )
        cursor.execute("INSERT INTO traces SELECT * FROM traces_previous")
        primary_key = "(trace_id, ingested_at)" if partitioned else "(trace_id)"
        cursor.execute(f"ALTER TABLE traces ADD CONSTRAINT traces_pkey PRIMARY KEY {primary_key}")
        for name, definition, constraint, kind, constraint_definition in indexes:
            if kind == "p":
                continue
            if constraint:
                cursor.execute(f'ALTER TABLE traces ADD CONSTRAINT "{constraint}" {constraint_definition}')
            else:
                cursor.execute(definition.replace(" ON ONLY ", " ON ", 1))
        cursor.execute("DROP TABLE traces_previous CASCADE")
        if partitioned:
            cursor.execute("CREATE TABLE trace_keys (trace_id varchar(32) PRIMARY KEY)")
            cursor.execute("INSERT INTO trace_keys SELECT trace_id FROM traces")
            cursor.execute(_DROP_KEYS_OF_DELETED_TRACES)
        cursor.execute("ANALYZE traces")


def partition_traces(apps, schema_editor) -> None:
    _rebuild_traces(schema_editor, partitioned=True)


def unpartition_traces(apps, schema_editor) -> None:
    _rebuild_traces(schema_editor, partitioned=False)


class Migration(migrations.Migration):
    # One transaction: a failure leaves the table as it was.
    atomic = True

    dependencies = [
        ("traces", "0012_newest_index_serves_day_drops"),
    ]

    operations = [
        migrations.RunPython(partition_traces, unpartition_traces),
    ]

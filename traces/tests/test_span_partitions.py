"""Spans partitioned by day on Postgres: pruning, the default partition, creating a day that holds rows, retention
dropping whole days (keeping spans of retained traces), ingest during a drop, and the migration of an existing
unpartitioned table. Postgres only: SQLite has no partitions (the rest of the suite runs the same code there).
"""

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from payloads.models import SpanPayloadRef
from testing.factories import SpanSpec, export_request, new_span_id, new_trace_id
from testing.servers import database_url
from traces import partitions, retention, summary
from traces.ingest import ingest_request, summary_of
from traces.models import Span, SpanLogRecord, Trace
from traces.queries import spans_of

pytestmark = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"), reason="SQLite has no partitions"
)

PROJECT_DIR = Path(__file__).resolve().parents[2]
DAY_NS = 86_400 * 1_000_000_000
HOUR_NS = 3_600 * 1_000_000_000


def today() -> date:
    return timezone.now().astimezone(UTC).date()


def an_old_day() -> date:
    """A day long past the retention window, with its partitions."""
    day = today() - timedelta(days=20)
    partitions.create_day(day)
    return day


def noon_ns(day: date) -> int:
    return partitions.partition_for(day).lower_ns + 12 * HOUR_NS


def ingest_trace(start_ns: int, spans: int = 3, payload: str = "") -> str:
    trace_id, root = new_trace_id(), new_span_id()
    attributes = {"gen_ai.operation.name": "chat", "input.value": payload} if payload else {}
    specs = [SpanSpec(trace_id, root, "invoke_agent", start_ns=start_ns, duration_ns=10 * HOUR_NS)]
    specs += [
        SpanSpec(trace_id, new_span_id(), f"step {i}", root, start_ns + (i + 1) * 1_000_000, attributes=attributes)
        for i in range(spans - 1)
    ]
    ingest_request(export_request(specs))
    return trace_id


def last_ingested(trace_id: str, moment: datetime) -> None:
    Trace.objects.filter(trace_id=trace_id).update(last_ingested_at=moment)


def rows_in(table: str, trace_id: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table}" WHERE trace_id = %s', [trace_id])  # noqa: S608 (test's names)
        return int(cursor.fetchone()[0])


def summary_counts(trace_id: str) -> tuple[dict, dict]:
    """(stored, recomputed from its spans): span count and times of a trace's summary."""
    spans = list(Span.objects.filter(trace_id=trace_id).values("trace_id", *summary.SPAN_COLUMNS))
    expected = summary_of(trace_id, spans)
    stored = Trace.objects.filter(trace_id=trace_id).values(*expected).get()
    columns = ("span_count", "start_unix_nano", "end_unix_nano", "root_span_id")
    return {k: stored[k] for k in columns}, {k: expected[k] for k in columns}


@pytest.mark.django_db
class TestDayPartitions:
    def test_a_time_range_query_reads_only_the_partitions_of_its_days(self) -> None:
        day = today()
        partitions.ensure_days(day, behind=1, ahead=1)
        lower, upper = partitions.partition_for(day).lower_ns, partitions.partition_for(day).upper_ns

        plan = Span.objects.filter(start_unix_nano__gte=lower, start_unix_nano__lt=upper).explain()
        two_days = Span.objects.filter(start_unix_nano__gte=lower - DAY_NS, start_unix_nano__lt=upper).explain()

        assert partitions.partition_for(day).name in plan
        assert "spans_default" not in plan
        assert partitions.partition_for(day - timedelta(days=1)).name not in plan
        assert partitions.partition_for(day + timedelta(days=1)).name not in plan
        assert partitions.partition_for(day - timedelta(days=1)).name in two_days
        assert partitions.partition_for(day + timedelta(days=1)).name not in two_days

    def test_a_traces_spans_are_read_from_the_partitions_of_its_days_only(self) -> None:
        day = today()
        partitions.ensure_days(day, behind=1, ahead=1)
        trace_id = ingest_trace(noon_ns(day), spans=3)

        plan = spans_of(Trace.objects.get(trace_id=trace_id)).explain()

        assert partitions.partition_for(day).name in plan
        assert partitions.partition_for(day - timedelta(days=1)).name not in plan
        assert "spans_default" not in plan
        assert spans_of(Trace.objects.get(trace_id=trace_id)).count() == 3

    def test_a_day_without_partition_lands_in_default_and_moves_when_its_partition_is_created(self) -> None:
        day = today() + timedelta(days=30)
        trace_id = ingest_trace(noon_ns(day), spans=4)
        before = sorted(Span.objects.filter(trace_id=trace_id).values_list("id", "span_id"))
        assert rows_in("spans_default", trace_id) == 4

        partition = partitions.partition_for(day)
        assert partitions.create_day(day) == [partition.name, partition.traces_name]

        name = partitions.partition_for(day).name
        assert (rows_in(name, trace_id), rows_in("spans_default", trace_id)) == (4, 0)
        assert sorted(Span.objects.filter(trace_id=trace_id).values_list("id", "span_id")) == before
        assert day in {p.day for p in partitions.attached_days()}
        assert partitions.create_day(day) == []

    def test_spans_far_in_the_past_and_future_are_stored_once(self) -> None:
        past, future = 1_000_000_000, int(datetime(2200, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000_000
        old, later = ingest_trace(past), ingest_trace(future)
        request = export_request([SpanSpec(old, new_span_id(), "late", start_ns=past + 5)])
        ingest_request(request)
        ingest_request(request)  # a re-sent batch

        assert (rows_in("spans_default", old), rows_in("spans_default", later)) == (4, 3)
        assert Trace.objects.get(trace_id=old).span_count == 4

    def test_the_beat_task_creates_yesterday_to_days_ahead(self, settings) -> None:
        from traces.tasks import create_span_partitions

        settings.SPAN_PARTITION_DAYS_AHEAD = 5
        create_span_partitions()

        days = {p.day for p in partitions.attached_days()}
        assert {today() + timedelta(days=n) for n in range(-1, 6)} <= days


@pytest.mark.django_db
class TestRetentionDropsDays:
    def test_an_old_day_is_dropped_and_spans_of_retained_traces_are_kept(self) -> None:
        now = timezone.now()
        old_day = an_old_day()
        expired = ingest_trace(noon_ns(old_day), spans=3, payload="an old prompt")
        retained = ingest_trace(noon_ns(old_day), spans=3, payload="a replayed prompt")
        ingest_request(export_request([SpanSpec(retained, new_span_id(), "today", start_ns=noon_ns(today()))]))
        straddling = ingest_trace(noon_ns(old_day) + 11 * HOUR_NS, spans=3)  # its spans also on the next day
        ingest_request(
            export_request([SpanSpec(straddling, new_span_id(), "next day", start_ns=noon_ns(old_day) + DAY_NS)])
        )
        for trace_id in (expired, straddling):
            last_ingested(trace_id, now - timedelta(days=19))
        retained_spans = sorted(Span.objects.filter(trace_id=retained).values_list("id", "span_id"))
        retained_refs = SpanPayloadRef.objects.filter(span__trace_id=retained).count()
        assert SpanPayloadRef.objects.filter(span__trace_id=expired).count() == 2

        result = retention.expire_trace_metadata(now=now)

        name = partitions.partition_for(old_day).name
        assert result.partitions_dropped >= 1
        assert old_day not in {p.day for p in partitions.attached_days()}
        assert not partitions.table_exists(name)
        assert set(Trace.objects.filter(trace_id__in=[expired, retained, straddling]).values_list(flat=True)) == {
            retained
        }
        assert Span.objects.filter(trace_id__in=[expired, straddling]).count() == 0
        assert sorted(Span.objects.filter(trace_id=retained).values_list("id", "span_id")) == retained_spans
        assert rows_in("spans_default", retained) == 3
        assert SpanPayloadRef.objects.filter(span_id__in=[pk for pk, _ in retained_spans]).count() == retained_refs
        assert not SpanPayloadRef.objects.exclude(span_id__in=Span.objects.values("id")).exists()
        assert Trace.objects.get(trace_id=retained).span_count == 4
        assert self.keys_of([expired, retained, straddling]) == [(retained,)]

    def test_a_days_summaries_are_dropped_with_it_and_those_of_retained_traces_kept(self) -> None:
        now = timezone.now()
        old_day = an_old_day()
        expired = ingest_trace(noon_ns(old_day), spans=3)
        retained = ingest_trace(noon_ns(old_day), spans=3)
        straddling = ingest_trace(noon_ns(old_day) + 11 * HOUR_NS, spans=3)
        ingest_request(
            export_request([SpanSpec(straddling, new_span_id(), "next day", start_ns=noon_ns(old_day) + DAY_NS)])
        )
        first_ingested = partitions.partition_for(old_day).lower + timedelta(hours=12)
        Trace.objects.filter(trace_id__in=[expired, retained, straddling]).update(ingested_at=first_ingested)
        for trace_id in (expired, straddling):
            last_ingested(trace_id, now - timedelta(days=19))
        SpanLogRecord.objects.create(trace_id=expired, span_id="0" * 16, record_key="k", received_at=now)
        name = partitions.partition_for(old_day).traces_name
        assert rows_in(name, expired) == rows_in(name, retained) == 1

        result = retention.expire_trace_metadata(now=now)

        assert result.traces_deleted >= 2
        assert not partitions.table_exists(name)
        assert old_day not in partitions.attached_trace_days()
        assert set(Trace.objects.filter(trace_id__in=[expired, retained, straddling]).values_list(flat=True)) == {
            retained
        }
        assert rows_in("traces_default", retained) == 1
        assert Trace.objects.get(trace_id=retained).ingested_at == first_ingested
        assert Span.objects.filter(trace_id__in=[expired, straddling]).count() == 0
        assert Span.objects.filter(trace_id=retained).count() == 3
        assert not SpanLogRecord.objects.filter(trace_id=expired).exists()
        assert {row[0] for row in self.keys_of([expired, retained, straddling])} == {retained}
        # A span arriving late for a dropped trace makes it anew; one for the retained trace joins its row.
        ingest_request(export_request([SpanSpec(expired, new_span_id(), "late", start_ns=noon_ns(today()))]))
        ingest_request(export_request([SpanSpec(retained, new_span_id(), "late", start_ns=noon_ns(today()))]))
        assert Trace.objects.get(trace_id=expired).span_count == 1
        assert Trace.objects.filter(trace_id=retained).count() == 1
        assert Trace.objects.get(trace_id=retained).span_count == 4

    def test_a_trace_expired_by_rows_loses_its_key_and_a_late_span_makes_it_anew(self) -> None:
        now = timezone.now()
        expired = ingest_trace(noon_ns(today()), spans=2)
        last_ingested(expired, now - timedelta(days=19))

        retention.expire_trace_metadata(now=now, whole_days=False)

        assert not Trace.objects.filter(trace_id=expired).exists()
        assert self.keys_of([expired]) == []
        ingest_request(export_request([SpanSpec(expired, new_span_id(), "late", start_ns=noon_ns(today()))]))
        assert Trace.objects.get(trace_id=expired).span_count == 1

    def test_a_key_left_without_its_summary_does_not_keep_the_trace_from_being_made(self) -> None:
        trace_id = ingest_trace(noon_ns(today()), spans=2)
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE traces DISABLE TRIGGER traces_deleted_keys")
            cursor.execute("DELETE FROM traces WHERE trace_id = %s", [trace_id])
            cursor.execute("ALTER TABLE traces ENABLE TRIGGER traces_deleted_keys")
        assert self.keys_of([trace_id]) == [(trace_id,)]

        ingest_request(export_request([SpanSpec(trace_id, new_span_id(), "late", start_ns=noon_ns(today()))]))

        assert Trace.objects.filter(trace_id=trace_id).count() == 1

    @staticmethod
    def keys_of(trace_ids: list[str]) -> list[tuple[str]]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT trace_id FROM trace_keys WHERE trace_id = ANY(%s)", [trace_ids])
            return cursor.fetchall()

    def test_a_detached_day_left_by_a_stopped_run_is_finished_and_late_traces_are_made_whole(self) -> None:
        now = timezone.now()
        old_day = an_old_day()
        expired = ingest_trace(noon_ns(old_day), spans=3)
        late = ingest_trace(noon_ns(old_day), spans=3)
        last_ingested(expired, now - timedelta(days=19))
        partition = partitions.partition_for(old_day)
        late_spans = sorted(Span.objects.filter(trace_id=late).values_list("span_id", flat=True))
        partitions.detach(partition, [], now - timedelta(days=7))  # a run stopped here, having kept nothing back
        ingest_request(  # one of the day's spans re-sent meanwhile: stored again, counted again
            export_request([SpanSpec(late, late_spans[0], "step", start_ns=noon_ns(old_day) + 1)])
        )
        assert Trace.objects.get(trace_id=late).span_count == 4

        retention.expire_trace_metadata(now=now)

        assert not partitions.table_exists(partition.name)
        assert not Trace.objects.filter(trace_id=expired).exists()
        assert sorted(Span.objects.filter(trace_id=late).values_list("span_id", flat=True)) == late_spans
        stored, recomputed = summary_counts(late)
        assert stored == recomputed
        assert stored["span_count"] == 3


@contextmanager
def sending_meanwhile(send: Callable[[], None]) -> Iterator[Callable[[int], None]]:
    """Calls `send` over and over on a thread of its own until the block ends; yields a function that waits until
    `send` has returned that many more times."""
    stop = threading.Event()
    returned: list[int] = []

    def keep_sending() -> None:
        try:
            while not stop.is_set():
                send()
                returned.append(1)
        finally:
            connections.close_all()

    def sends(more: int) -> None:
        target = len(returned) + more
        while len(returned) < target:
            time.sleep(0.01)

    writer = threading.Thread(target=keep_sending)
    writer.start()
    try:
        yield sends
    finally:
        stop.set()
        writer.join(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_ingest_while_a_day_is_dropped_loses_nothing() -> None:
    now = timezone.now()
    old_day = an_old_day()
    expired = [ingest_trace(noon_ns(old_day) + i, spans=5) for i in range(60)]
    for trace_id in expired:
        last_ingested(trace_id, now - timedelta(days=19))
    sent: list[str] = []

    with sending_meanwhile(lambda: sent.append(ingest_trace(noon_ns(today()) + len(sent), spans=4))) as sends:
        sends(3)
        result = retention.expire_trace_metadata(now=now, batch_size=7)
        sends(3)

    assert result.partitions_dropped >= 1
    assert not Trace.objects.filter(trace_id__in=expired).exists()
    assert Span.objects.filter(trace_id__in=expired).count() == 0
    assert Span.objects.filter(trace_id__in=sent).count() == 4 * len(sent)
    assert list(Trace.objects.filter(trace_id__in=sent).values_list("span_count", flat=True).distinct()) == [4]


@pytest.mark.django_db(transaction=True)
def test_late_spans_for_the_traces_of_a_day_being_dropped_each_find_one_summary() -> None:
    now = timezone.now()
    old_day = an_old_day()
    expired = [ingest_trace(noon_ns(old_day) + i, spans=3) for i in range(40)]
    Trace.objects.filter(trace_id__in=expired).update(
        ingested_at=partitions.partition_for(old_day).lower, last_ingested_at=now - timedelta(days=19)
    )
    late = expired[::2]

    def send_late_spans() -> None:
        for trace_id in late:
            ingest_request(export_request([SpanSpec(trace_id, new_span_id(), "late", start_ns=noon_ns(today()))]))

    with sending_meanwhile(send_late_spans) as sends:
        # Late spans arriving before, during and after the day is detached: their traces are kept, or made anew.
        result = retention.expire_trace_metadata(now=now, batch_size=7)
        sends(2)  # a whole round of late spans after the drop

    assert result.partitions_dropped >= 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT trace_id, count(*) FROM trace_keys WHERE trace_id = ANY(%s) GROUP BY 1", [expired])
        keys = dict(cursor.fetchall())
    rows = {trace_id: Trace.objects.filter(trace_id=trace_id).count() for trace_id in expired}
    assert all(count <= 1 for count in rows.values())
    assert {trace_id for trace_id, count in rows.items() if count} == set(late)
    assert keys == dict.fromkeys(late, 1)
    for trace_id in late:
        stored, recomputed = summary_counts(trace_id)
        assert stored == recomputed
    assert Span.objects.filter(trace_id__in=set(expired) - set(late)).count() == 0


@pytest.fixture
def scratch_database(django_db_setup: None, django_db_blocker) -> Iterator[str]:
    """An empty database of its own beside the test database (dropped afterwards)."""
    with django_db_blocker.unblock():
        url = database_url(connection.settings_dict) + "_migration"
    admin = url.rsplit("/", 1)[0] + "/postgres"
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(url: str, var_dir: Path, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "test-only-secret-key", "DEBUG": "0"}
    env["VAR_DIR"] = str(var_dir)
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_DIR, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


# Back to the schema before partitioning (both partitioning migrations undone): the install as it was.
_UNPARTITION = """
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
executor = MigrationExecutor(connection)
partitioning = next(key for key in executor.loader.graph.nodes if key[1].endswith("_spans_partitioned_by_day"))
before = [key for key in executor.loader.get_migration(*partitioning).dependencies if key[0] == "traces"]
executor.migrate(before)
"""

_INGEST_EXISTING = """
from datetime import UTC, datetime, timedelta
from testing.factories import SpanSpec, export_request
from traces.ingest import ingest_request
now = datetime.now(UTC)
times = {
    "a" * 32: int(now.timestamp()) * 10**9,
    "b" * 32: int((now - timedelta(days=3)).timestamp()) * 10**9,
    "c" * 32: 10**9,  # 1970
    "d" * 32: int(datetime(2200, 1, 1, tzinfo=UTC).timestamp()) * 10**9,
}
for trace_id, start in times.items():
    spans = [SpanSpec(trace_id, f"{i + 1:016x}", f"span {i}", start_ns=start + i) for i in range(5)]
    spans[1].attributes = {"gen_ai.operation.name": "chat", "input.value": "a prompt " + trace_id}
    ingest_request(export_request(spans))
"""


def partitions_holding(conn: psycopg.Connection, table: str) -> dict[str, str]:
    """Trace id -> the partition of `table` holding its rows."""
    query = f"SELECT DISTINCT trace_id, tableoid::regclass::text FROM {table}"  # noqa: S608 (the test's names)
    return dict(conn.execute(query).fetchall())


def test_migrating_existing_unpartitioned_tables_keeps_every_row(scratch_database: str, tmp_path: Path) -> None:
    manage(scratch_database, tmp_path, "migrate", "-v", "0")
    manage(scratch_database, tmp_path, "shell", "-c", _INGEST_EXISTING)
    manage(scratch_database, tmp_path, "shell", "-c", _UNPARTITION)
    day = datetime.now(UTC).date()
    with psycopg.connect(scratch_database) as conn:
        assert conn.execute("SELECT count(*) FROM pg_partitioned_table").fetchone() == (0,)
        assert conn.execute("SELECT to_regclass('trace_keys')").fetchone() == (None,)
        # First ingested on other days than today, as an install's traces are.
        conn.execute("UPDATE traces SET ingested_at = ingested_at - interval '3 days' WHERE trace_id = %s", ["b" * 32])
        conn.execute("UPDATE traces SET ingested_at = '1970-01-02' WHERE trace_id = %s", ["c" * 32])
        before = conn.execute("SELECT * FROM spans ORDER BY id").fetchall()
        refs_before = conn.execute("SELECT * FROM span_payload_refs ORDER BY id").fetchall()
        traces_before = conn.execute("SELECT * FROM traces ORDER BY trace_id").fetchall()

    manage(scratch_database, tmp_path, "migrate", "-v", "0")

    with psycopg.connect(scratch_database) as conn:
        assert conn.execute("SELECT * FROM spans ORDER BY id").fetchall() == before
        assert conn.execute("SELECT * FROM span_payload_refs ORDER BY id").fetchall() == refs_before
        assert conn.execute("SELECT * FROM traces ORDER BY trace_id").fetchall() == traces_before
        three_days_ago = day - timedelta(days=3)
        assert partitions_holding(conn, "spans") == {
            "a" * 32: f"spans_p{day:%Y%m%d}",
            "b" * 32: f"spans_p{three_days_ago:%Y%m%d}",
            "c" * 32: "spans_default",
            "d" * 32: "spans_default",
        }
        assert partitions_holding(conn, "traces") == {
            "a" * 32: f"traces_p{day:%Y%m%d}",
            "b" * 32: f"traces_p{three_days_ago:%Y%m%d}",
            "c" * 32: "traces_default",
            "d" * 32: f"traces_p{day:%Y%m%d}",
        }
        assert sorted(conn.execute("SELECT trace_id FROM trace_keys").fetchall()) == [(c * 32,) for c in "abcd"]
        # The id sequence continues after the moved rows; a re-sent span is refused by the new unique key.
        copy_of_first_span = (
            "INSERT INTO spans (trace_id, span_id, parent_span_id, name, kind, category, service, environment, "
            "start_unix_nano, end_unix_nano, duration_ns, status_code, status_message, trace_state, flags, "
            "attributes, resource_attributes, events, links, scope, otlp_extra, operation_name, model, provider, "
            "tool_name, input_tokens, output_tokens, total_tokens, cost_usd, retry_count, is_timeout) "
            "SELECT trace_id, %s, parent_span_id, name, kind, category, service, environment, "
            "start_unix_nano, end_unix_nano, duration_ns, status_code, status_message, trace_state, flags, "
            "attributes, resource_attributes, events, links, scope, otlp_extra, operation_name, model, provider, "
            "tool_name, input_tokens, output_tokens, total_tokens, cost_usd, retry_count, is_timeout "
            "FROM spans WHERE trace_id = %s ORDER BY id LIMIT 1 RETURNING id"
        )
        first = conn.execute("SELECT span_id FROM spans WHERE trace_id = %s ORDER BY id LIMIT 1", ["a" * 32]).fetchone()
        assert first is not None
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(copy_of_first_span, [first[0], "a" * 32])
        conn.rollback()
        inserted = conn.execute(copy_of_first_span, ["ffffffffffffffff", "a" * 32]).fetchone()
        assert inserted is not None
        new_id = inserted[0]
        assert new_id > max(row[0] for row in before)

    manage(scratch_database, tmp_path, "shell", "-c", _INGEST_EXISTING)  # sent again: the same four traces
    with psycopg.connect(scratch_database) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT trace_id) FROM traces").fetchone() == (4, 4)

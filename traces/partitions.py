"""Day partitions of `spans` and `traces` on Postgres: which exist, creating them ahead, detaching and dropping them.

On Postgres `spans` is partitioned by range of `start_unix_nano`, one partition per UTC day (`spans_pYYYYMMDD`),
plus `spans_default` for every span no day partition covers (far past or future timestamps, days not created yet),
so ingest never fails for want of a partition (migration `0011_spans_partitioned_by_day` built it). `traces` is
partitioned the same way by its `ingested_at` (`traces_pYYYYMMDD`, `traces_default`; migration 0013): a day is
both tables' partitions of that day, created and dropped together. On SQLite there are no partitions: every
function here does nothing there, and the same code runs on both.

Creating a day whose spans already sit in the default partition moves them: in one transaction, with the default
partition locked against inserts, the new table is created, the day's rows move into it and it is attached. Every
partition operation waits at most SPAN_PARTITION_LOCK_TIMEOUT_MS for its locks (ingest queued behind a waiting
ALTER TABLE would wait as long) and is retried on the next run. The retention side (which spans of a detached day
to keep) is `traces.retention`.

Known limits: DETACH takes an ACCESS EXCLUSIVE lock on both tables until its transaction commits (Postgres cannot
detach CONCURRENTLY while a default partition exists), so reads and ingest pause for that short transaction; the
default partitions have no index on their partition key, and attaching a day scans them, so they must stay small.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

TABLE = "spans"
DEFAULT_PARTITION = "spans_default"
TRACES_TABLE = "traces"
TRACES_DEFAULT_PARTITION = "traces_default"
_NANOS_PER_DAY = 86_400 * 1_000_000_000
_NAME = re.compile(r"^spans_p(\d{8})$")
_TRACES_NAME = re.compile(r"^traces_p(\d{8})$")
_BOUNDS = re.compile(r"FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)")


@dataclass(frozen=True)
class DayPartition:
    name: str
    day: date
    lower_ns: int  # inclusive
    upper_ns: int  # exclusive

    @property
    def traces_name(self) -> str:
        return f"traces_p{self.day:%Y%m%d}"

    @property
    def lower(self) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, tzinfo=UTC)

    @property
    def upper(self) -> datetime:
        return self.lower + timedelta(days=1)


def enabled() -> bool:
    """Whether `spans` and `traces` are partitioned here (Postgres, migrated)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s))", [TABLE])
        row = cursor.fetchone()
    return bool(row and row[0])


def partition_for(day: date) -> DayPartition:
    lower = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000_000
    return DayPartition(f"spans_p{day:%Y%m%d}", day, lower, lower + _NANOS_PER_DAY)


def utc_day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def attached_days() -> list[DayPartition]:
    """The days with a partition attached to `spans` or to `traces`, oldest first (spans' bounds as the catalog
    has them)."""
    if not enabled():
        return []
    days: dict[date, DayPartition] = {}
    for name, bound in _attached(TABLE):
        named, bounds = _NAME.match(name), _BOUNDS.search(bound or "")
        if named and bounds:
            day = datetime.strptime(named.group(1), "%Y%m%d").date()
            days[day] = DayPartition(name, day, int(bounds.group(1)), int(bounds.group(2)))
    for day in attached_trace_days() - days.keys():
        days[day] = partition_for(day)
    return sorted(days.values(), key=lambda p: p.lower_ns)


def attached_trace_days() -> set[date]:
    """The days with a partition attached to `traces`."""
    return _days_attached_to(TRACES_TABLE, _TRACES_NAME) if enabled() else set()


def _days_attached_to(table: str, pattern: re.Pattern[str]) -> set[date]:
    return {
        datetime.strptime(named.group(1), "%Y%m%d").date()
        for name, _ in _attached(table)
        if (named := pattern.match(name))
    }


def _attached(table: str) -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [table],
        )
        return cursor.fetchall()


def detached_days() -> list[DayPartition]:
    """Days whose tables a retention run detached but did not drop (resumed by the next run)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT substring(relname FROM '[0-9]{8}$') FROM pg_class WHERE relkind = 'r' "
            "AND NOT relispartition AND relnamespace = current_schema()::regnamespace "
            "AND relname ~ '^(spans|traces)_p[0-9]{8}$'"
        )
        days = [datetime.strptime(digits, "%Y%m%d").date() for (digits,) in cursor.fetchall()]
    return [partition_for(day) for day in sorted(days)]


def ensure_days(today: date | None = None, behind: int = 1, ahead: int | None = None) -> list[str]:
    """Create the day partitions from `today - behind` to `today + ahead` that are missing; their names."""
    if not enabled():
        return []
    today = today or utc_day_of(timezone.now())
    ahead = settings.SPAN_PARTITION_DAYS_AHEAD if ahead is None else ahead
    complete = _days_attached_to(TABLE, _NAME) & _days_attached_to(TRACES_TABLE, _TRACES_NAME)
    created = []
    for offset in range(-behind, ahead + 1):
        if (day := today + timedelta(days=offset)) not in complete:
            created += create_day(day)
    return created


def create_day(day: date) -> list[str]:
    """Create and attach the partitions of `day` that are missing, moving the default partitions' rows of that day
    into them; the names of those created (none when both exist: another run made them).

    Create-then-attach rather than CREATE TABLE ... PARTITION OF: attaching takes only a SHARE UPDATE EXCLUSIVE
    lock on the table, so ingest and reads go on meanwhile; only what touches the default partition waits (it is
    locked while its rows of that day move out).
    """
    if not enabled():
        return []
    partition = partition_for(day)
    spans = _create_partition(
        TABLE,
        DEFAULT_PARTITION,
        partition.name,
        "start_unix_nano",
        f"FROM ({partition.lower_ns:d}) TO ({partition.upper_ns:d})",
        (partition.lower_ns, partition.upper_ns),
    )
    traces = _create_partition(
        TRACES_TABLE,
        TRACES_DEFAULT_PARTITION,
        partition.traces_name,
        "ingested_at",
        f"FROM ('{partition.lower.isoformat()}') TO ('{partition.upper.isoformat()}')",
        (partition.lower, partition.upper),
    )
    return [name for name, created in ((partition.name, spans), (partition.traces_name, traces)) if created]


def _create_partition(
    table: str, default: str, name: str, column: str, bounds: str, values: tuple[int, int] | tuple[datetime, datetime]
) -> bool:
    with transaction.atomic(), connection.cursor() as cursor:
        _set_lock_timeout(cursor)
        cursor.execute(f"LOCK TABLE ONLY {table} IN SHARE UPDATE EXCLUSIVE MODE")  # one creator at a time
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhparent = to_regclass(%s) "
            "AND inhrelid = to_regclass(%s))",
            [table, name],
        )
        row = cursor.fetchone()
        if row and row[0]:
            return False
        # The lock ATTACH takes on the default partition (it checks that no row there belongs to the new day),
        # taken now rather than upgraded to later: an ingest holding a read lock on it and waiting on ours to
        # insert would otherwise deadlock with us.
        cursor.execute(f"LOCK TABLE {default} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(f'CREATE TABLE "{name}" (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
        cursor.execute(
            f"WITH moved AS (DELETE FROM {default} "  # noqa: S608 (names are ours)
            f"WHERE {column} >= %s AND {column} < %s RETURNING *) "
            f'INSERT INTO "{name}" SELECT * FROM moved',
            list(values),
        )
        cursor.execute(f'ALTER TABLE {table} ATTACH PARTITION "{name}" FOR VALUES {bounds}')
    return True


@dataclass(frozen=True)
class Detached:
    """What detaching a day kept: its spans put back, and the traces of its summaries put back."""

    spans_kept: int
    traces_kept: list[str]


def detach(partition: DayPartition, reinsert_trace_ids: list[str], cutoff: datetime) -> Detached:
    """Detach both tables' partitions of a day, in one transaction so readers never miss what stays: the summaries
    in it of traces that received spans since `cutoff` go back into `traces` (to its default partition, as no
    partition covers their day any more); the others' keys go; the spans of those traces and of
    `reinsert_trace_ids` go back into `spans` (to its default partition, likewise)."""
    with transaction.atomic(), connection.cursor() as cursor:
        _set_lock_timeout(cursor)
        # Both locks (the ones DETACH takes) at once, `traces` first as ingest takes them: no reader or writer can
        # come to hold one of them while waiting for the other behind us.
        cursor.execute(f"LOCK TABLE ONLY {TRACES_TABLE}, ONLY {TABLE} IN ACCESS EXCLUSIVE MODE")
        traces_kept: list[str] = []
        if _is_attached(name := partition.traces_name):
            cursor.execute(f'ALTER TABLE {TRACES_TABLE} DETACH PARTITION "{name}"')
            cursor.execute(
                f'INSERT INTO {TRACES_TABLE} SELECT * FROM "{name}" WHERE last_ingested_at >= %s '  # noqa: S608
                "RETURNING trace_id",
                [cutoff],
            )
            traces_kept = [trace_id for (trace_id,) in cursor.fetchall()]
            # Within the lock: a span arriving for one of these traces once we commit must find no key, and so
            # create the trace anew.
            cursor.execute(
                f'DELETE FROM trace_keys k USING "{name}" d WHERE k.trace_id = d.trace_id '  # noqa: S608
                "AND d.last_ingested_at < %s",
                [cutoff],
            )
        spans_kept = 0
        if _is_attached(partition.name):
            cursor.execute(f'ALTER TABLE {TABLE} DETACH PARTITION "{partition.name}"')
            if reinsert := sorted({*reinsert_trace_ids, *traces_kept}):
                cursor.execute(
                    f'INSERT INTO {TABLE} SELECT * FROM "{partition.name}" WHERE trace_id = ANY(%s)',  # noqa: S608
                    [reinsert],
                )
                spans_kept = cursor.rowcount
    return Detached(spans_kept, traces_kept)


def _is_attached(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(%s))", [name])
        row = cursor.fetchone()
    return bool(row and row[0])


def table_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        row = cursor.fetchone()
    return bool(row and row[0])


def drop_detached(partition: DayPartition) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE IF EXISTS "{partition.name}", "{partition.traces_name}"')


def _set_lock_timeout(cursor: CursorWrapper) -> None:
    cursor.execute(f"SET LOCAL lock_timeout = {int(settings.SPAN_PARTITION_LOCK_TIMEOUT_MS):d}")

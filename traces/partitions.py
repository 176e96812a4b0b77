"""Day partitions of `spans` on Postgres: which exist, creating them ahead, detaching and dropping them.

On Postgres `spans` is partitioned by range of `start_unix_nano`, one partition per UTC day (`spans_pYYYYMMDD`),
plus `spans_default` for every span no day partition covers (far past or future timestamps, days not created yet),
so ingest never fails for want of a partition (migration `0011_spans_partitioned_by_day` built it). On SQLite
there are no partitions: every function here does nothing there, and the same code runs on both.

Creating a day whose spans already sit in the default partition moves them: in one transaction, with the default
partition locked against inserts, the new table is created, the day's rows move into it and it is attached. Every
partition operation waits at most SPAN_PARTITION_LOCK_TIMEOUT_MS for its locks (ingest queued behind a waiting
ALTER TABLE would wait as long) and is retried on the next run. The retention side (which spans of a detached day
to keep) is `traces.retention`.

Known limits: DETACH takes an ACCESS EXCLUSIVE lock on `spans` until its transaction commits (Postgres cannot
detach CONCURRENTLY while a default partition exists), so reads and ingest pause for that short transaction; the
default partition has no index on start time, and attaching a day scans it, so it must stay small.
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
_NANOS_PER_DAY = 86_400 * 1_000_000_000
_NAME = re.compile(r"^spans_p(\d{8})$")
_BOUNDS = re.compile(r"FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)")


@dataclass(frozen=True)
class DayPartition:
    name: str
    day: date
    lower_ns: int  # inclusive
    upper_ns: int  # exclusive


def enabled() -> bool:
    """Whether `spans` is partitioned here (Postgres, migrated)."""
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
    """The day partitions attached to `spans`, oldest first, with their bounds as the catalog has them."""
    if not enabled():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [TABLE],
        )
        rows = cursor.fetchall()
    days = []
    for name, bound in rows:
        named, bounds = _NAME.match(name), _BOUNDS.search(bound or "")
        if named and bounds:
            day = datetime.strptime(named.group(1), "%Y%m%d").date()
            days.append(DayPartition(name, day, int(bounds.group(1)), int(bounds.group(2))))
    return sorted(days, key=lambda p: p.lower_ns)


def detached_days() -> list[DayPartition]:
    """Day tables detached by a retention run that stopped before dropping them (resumed by the next run)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND NOT relispartition "
            "AND relnamespace = current_schema()::regnamespace AND relname ~ '^spans_p[0-9]{8}$'"
        )
        names = [name for (name,) in cursor.fetchall()]
    return sorted(
        (partition_for(datetime.strptime(name[len("spans_p") :], "%Y%m%d").date()) for name in names),
        key=lambda p: p.lower_ns,
    )


def ensure_days(today: date | None = None, behind: int = 1, ahead: int | None = None) -> list[str]:
    """Create the day partitions from `today - behind` to `today + ahead` that are missing; their names."""
    if not enabled():
        return []
    today = today or utc_day_of(timezone.now())
    ahead = settings.SPAN_PARTITION_DAYS_AHEAD if ahead is None else ahead
    existing = {p.day for p in attached_days()}
    created = []
    for offset in range(-behind, ahead + 1):
        day = today + timedelta(days=offset)
        if day not in existing and create_day(day):
            created.append(partition_for(day).name)
    return created


def create_day(day: date) -> bool:
    """Create and attach the partition of `day`, moving the default partition's spans of that day into it.

    False when it exists already (another run made it). Create-then-attach rather than CREATE TABLE ... PARTITION
    OF: attaching takes only a SHARE UPDATE EXCLUSIVE lock on `spans`, so ingest and reads go on meanwhile; only
    what touches the default partition waits (it is locked while its rows of that day move out).
    """
    partition = partition_for(day)
    with transaction.atomic(), connection.cursor() as cursor:
        _set_lock_timeout(cursor)
        cursor.execute(f"LOCK TABLE ONLY {TABLE} IN SHARE UPDATE EXCLUSIVE MODE")  # one creator at a time
        if any(p.day == day for p in attached_days()):
            return False
        # The lock ATTACH takes on the default partition (it checks that no row there belongs to the new day),
        # taken now rather than upgraded to later: an ingest holding a read lock on it and waiting on ours to
        # insert would otherwise deadlock with us.
        cursor.execute(f"LOCK TABLE {DEFAULT_PARTITION} IN ACCESS EXCLUSIVE MODE")
        name = partition.name
        cursor.execute(f'CREATE TABLE "{name}" (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
        cursor.execute(
            f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} "  # noqa: S608 (names are ours)
            "WHERE start_unix_nano >= %s AND start_unix_nano < %s RETURNING *) "
            f'INSERT INTO "{name}" SELECT * FROM moved',
            [partition.lower_ns, partition.upper_ns],
        )
        cursor.execute(
            f'ALTER TABLE {TABLE} ATTACH PARTITION "{name}" '
            f"FOR VALUES FROM ({partition.lower_ns:d}) TO ({partition.upper_ns:d})"
        )
    return True


def detach(partition: DayPartition, reinsert_trace_ids: list[str]) -> int:
    """Detach a day partition; the spans of `reinsert_trace_ids` in it go back into `spans` (to the default
    partition, as no partition covers their day any more) in the same transaction, so readers never miss them.
    Returns how many went back."""
    with transaction.atomic(), connection.cursor() as cursor:
        _set_lock_timeout(cursor)
        cursor.execute(f'ALTER TABLE {TABLE} DETACH PARTITION "{partition.name}"')
        if reinsert_trace_ids:
            cursor.execute(
                f'INSERT INTO {TABLE} SELECT * FROM "{partition.name}" WHERE trace_id = ANY(%s)',  # noqa: S608
                [reinsert_trace_ids],
            )
            return cursor.rowcount
    return 0


def drop_detached(partition: DayPartition) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE IF EXISTS "{partition.name}"')


def _set_lock_timeout(cursor: CursorWrapper) -> None:
    cursor.execute(f"SET LOCAL lock_timeout = {int(settings.SPAN_PARTITION_LOCK_TIMEOUT_MS):d}")

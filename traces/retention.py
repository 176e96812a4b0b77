"""Retention of trace metadata: expire traces past RETENTION_METADATA_DAYS (payloads: `payloads.retention`).

Every function works in bounded batches (RETENTION_BATCH_SIZE rows), each batch its own short transaction, so
a large backlog never holds a table lock for long and ingest keeps flowing between batches.

Trace metadata: a trace that received no new span since the cutoff (`Trace.last_ingested_at`) loses its spans and
its summary row. Its spans' own start times do not count: they are whatever the sender wrote, and one span dated
1970 must not make a trace that is still arriving expire. Traces are taken oldest first and whole, as many as fit
in one batch of spans; their rows are locked in trace-id order (the order ingest locks them in, so the two never
deadlock) and the spans and the summary go in one transaction, so no reader ever sees a summary without its
spans. A trace with more spans than one batch is trimmed newest-span-first over several transactions with its
summary recomputed after each (which leaves `last_ingested_at` as it was, so the next batch picks it up again)
and its row goes with its last spans.

On Postgres, whole days go first (`traces.partitions`): a day whose whole day lies before the cutoff has its
partitions of `spans` (by the spans' start time) and of `traces` (by when the trace's first span arrived) detached
and dropped instead of deleted row by row. Traces expire by `last_ingested_at`, so in the transaction that
detaches them, the day's summaries of traces still retained go back into `traces` and the other summaries' keys
go (`trace_keys`), and the day's spans of retained traces (late or replayed old timestamps) go back into `spans`
(the default partitions take both). Then the dropped summaries' log records go, and their spans on other days
when their times reach past the day. Then, in batches, every expired trace elsewhere whose times overlap the day
(a trace spans its spans, so these are all others that can have spans in it) is deleted whole as the row pass
would: its log records and row, and its spans in other partitions only when its times reach past the day. The
day's spans and summaries are never read row by row (that was what made a drop take seconds). A trace that
received spans meanwhile is left and gets back its spans of that day (those not re-sent since) and its summary
recomputed. The payload refs of the dropped spans go last, in one statement (blobs then unreferenced are swept by
`payloads.retention`), then the detached tables. The row pass below then handles the rest: the day that straddles
the cutoff, the default partitions, and SQLite.

Known limits: a span arriving late for an expired trace creates the trace anew, which then lives for the full
retention period again. An ingest batch racing the transaction that deletes its trace waits on the trace row's
lock, then creates the row again (`traces.ingest`), so no span is left without its trace.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction

from payloads.retention import UNREFERENCED_BLOB_GRACE, cutoff_for, unix_nanos, within_budget
from traces import partitions
from traces.ingest import recompute_summaries
from traces.models import Span, SpanLogRecord, Trace


@dataclass(frozen=True)
class MetadataExpiry:
    """What metadata retention deleted (or, in a dry run, would delete)."""

    cutoff: datetime
    traces_deleted: int
    spans_deleted: int
    batches: int
    dry_run: bool
    # Postgres: day partitions dropped whole (their spans are counted in spans_deleted, less those kept).
    partitions_dropped: int = 0
    spans_kept_from_dropped_days: int = 0


@dataclass(frozen=True)
class ScheduledTask:
    name: str
    task: str
    every_minutes: float


@dataclass(frozen=True)
class RetentionPolicy:
    """Retention as configured (settings), for the admin page."""

    metadata_days: float
    payload_days: float
    batch_size: int
    interval_minutes: float
    unreferenced_grace: timedelta
    broker: str
    schedule: tuple[ScheduledTask, ...]


def configured_policy() -> RetentionPolicy:
    schedule = tuple(
        ScheduledTask(name, entry["task"], float(entry["schedule"]) / 60)
        for name, entry in sorted(settings.CELERY_BEAT_SCHEDULE.items())
    )
    # Never the broker URL itself: it may carry a password.
    broker = "Redis (REDIS_URL)" if settings.REDIS_URL else "embedded: files under VAR_DIR, no server"
    return RetentionPolicy(
        metadata_days=settings.RETENTION_METADATA_DAYS,
        payload_days=settings.RETENTION_PAYLOAD_DAYS,
        batch_size=settings.RETENTION_BATCH_SIZE,
        interval_minutes=settings.RETENTION_INTERVAL_MINUTES,
        unreferenced_grace=UNREFERENCED_BLOB_GRACE,
        broker=broker,
        schedule=schedule,
    )


def expire_trace_metadata(
    *,
    now: datetime | None = None,
    days: float | None = None,
    batch_size: int | None = None,
    dry_run: bool = False,
    max_seconds: float | None = None,
    max_batches: int | None = None,
    whole_days: bool = True,
) -> MetadataExpiry:
    """Delete every trace (spans and summary) that received no new span in the `days` before `now`.

    `whole_days=False` skips dropping day partitions: rows only, as before partitioning (`make bench-scale`
    compares the two).

    `max_seconds` and `max_batches` stop between batches once reached, so a scheduled run never overlaps the
    next; whatever is left is expired by the next run.
    """
    cutoff = cutoff_for(settings.RETENTION_METADATA_DAYS if days is None else days, now)
    size = batch_size or settings.RETENTION_BATCH_SIZE
    if dry_run:
        expired = Trace.objects.filter(last_ingested_at__lt=cutoff)
        spans = Span.objects.filter(trace__last_ingested_at__lt=cutoff).count()
        due = len(_droppable_days(cutoff))
        return MetadataExpiry(cutoff, expired.count(), spans, 0, dry_run=True, partitions_dropped=due)
    started = time.monotonic()
    traces_deleted = spans_deleted = batches = dropped = kept = 0
    for partition in _droppable_days(cutoff) if whole_days else []:
        if not within_budget(started, max_seconds, batches, max_batches):
            break
        day = drop_day(partition, cutoff, size)
        if day is None:
            break  # its lock was not granted in time: the next run tries again
        dropped += 1
        kept += day.spans_kept
        traces_deleted += day.traces_deleted
        spans_deleted += day.spans_deleted
        batches += day.batches
    while within_budget(started, max_seconds, batches, max_batches):
        traces, spans = _expire_one_batch(cutoff, size)
        if traces == spans == 0:
            break
        traces_deleted += traces
        spans_deleted += spans
        batches += 1
    return MetadataExpiry(
        cutoff,
        traces_deleted,
        spans_deleted,
        batches,
        dry_run=False,
        partitions_dropped=dropped,
        spans_kept_from_dropped_days=kept,
    )


@dataclass(frozen=True)
class DayDrop:
    """What dropping one day partition did."""

    spans_deleted: int
    spans_kept: int
    traces_deleted: int
    batches: int
    # How long `spans` and `traces` were locked (the detaching transaction), in seconds.
    locked_seconds: float


def _droppable_days(cutoff: datetime) -> list[partitions.DayPartition]:
    """Day partitions wholly before the cutoff, and day tables a stopped run detached but did not drop."""
    cutoff_ns = unix_nanos(cutoff)
    attached = [p for p in partitions.attached_days() if p.upper_ns <= cutoff_ns]
    return partitions.detached_days() + attached


def drop_day(partition: partitions.DayPartition, cutoff: datetime, size: int) -> DayDrop | None:
    """Detach and drop one day's partitions past the cutoff, keeping the spans and summaries of traces still
    retained.

    None when the table locks were not granted within SPAN_PARTITION_LOCK_TIMEOUT_MS (nothing changed).
    """
    retained: list[str] = []
    if partitions.table_exists(partition.name):
        with connection.cursor() as cursor:
            # A trace starts with its earliest span, so only traces starting before the day's end can have spans
            # in it.
            cursor.execute(
                "SELECT t.trace_id FROM traces t WHERE t.start_unix_nano < %s AND t.last_ingested_at >= %s "  # noqa: S608 (our names)
                f'AND EXISTS (SELECT 1 FROM "{partition.name}" p WHERE p.trace_id = t.trace_id) ORDER BY t.trace_id',
                [partition.upper_ns, cutoff],
            )
            retained = [trace_id for (trace_id,) in cursor.fetchall()]
    locked_seconds = 0.0
    kept = 0
    if any(p.day == partition.day for p in partitions.attached_days()):
        detach_started = time.monotonic()
        try:
            detached = partitions.detach(partition, retained, cutoff)
        except OperationalError:
            return None  # lock_timeout: ingest or a long read held `traces` or `spans`
        locked_seconds = time.monotonic() - detach_started
        kept = detached.spans_kept
        retained += detached.traces_kept
    elif retained:
        # Resuming a run that stopped after detaching: its retained traces' spans went back then, but a trace that
        # received spans since needs those of the day it lacks.
        kept += _put_back_spans_of_dropped_day(partition, retained)
    put_back = list(retained)
    traces_deleted, spans_deleted, batches = _delete_rest_of_dropped_summaries(partition, cutoff, size)
    # The traces elsewhere past the cutoff whose times overlap the day (all that may have spans in it besides its
    # own, since a trace spans its spans), in start order through the list's time index, a batch at a time: no
    # read of the day's spans.
    after: tuple[int, str] = (-(2**63), "")
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT start_unix_nano, trace_id FROM traces WHERE start_unix_nano < %s AND end_unix_nano >= %s "
                "AND last_ingested_at < %s AND (start_unix_nano, trace_id) > (%s, %s) "
                "ORDER BY start_unix_nano, trace_id LIMIT %s",
                [partition.upper_ns, partition.lower_ns, cutoff, *after, size],
            )
            due = cursor.fetchall()
        if not due:
            break
        chosen = sorted(trace_id for _, trace_id in due)
        deleted, spans = _delete_traces_of_dropped_day(partition, chosen, cutoff)
        if late := sorted(set(chosen) - deleted):  # received spans since they were chosen: retained now
            kept += _put_back_spans_of_dropped_day(partition, late)
            put_back += late
        traces_deleted += len(deleted)
        spans_deleted += spans
        batches += 1
        after = due[-1]
    if partitions.table_exists(partition.name):
        _delete_payload_refs_of_dropped_day(partition.name, put_back)
    partitions.drop_detached(partition)
    return DayDrop(spans_deleted, kept, traces_deleted, batches, locked_seconds)


def _delete_rest_of_dropped_summaries(
    partition: partitions.DayPartition, cutoff: datetime, size: int
) -> tuple[int, int, int]:
    """What goes with the detached summaries of the day besides their rows and keys: their log records, and their
    spans on other days (those whose times reach past the day). Returns (traces, their spans, batches): the
    summaries' counts, as the day's spans are not read."""
    name = partition.traces_name
    if not partitions.table_exists(name):
        return 0, 0, 0
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT count(*), coalesce(sum(span_count), 0) FROM "{name}" WHERE last_ingested_at < %s',  # noqa: S608
            [cutoff],
        )
        row = cursor.fetchone()
        traces, spans = (int(row[0]), int(row[1])) if row else (0, 0)
        cursor.execute(
            f'DELETE FROM span_log_records r USING "{name}" d WHERE r.trace_id = d.trace_id '  # noqa: S608
            "AND d.last_ingested_at < %s",
            [cutoff],
        )
        cursor.execute(
            f'SELECT trace_id, start_unix_nano, end_unix_nano FROM "{name}" WHERE last_ingested_at < %s '  # noqa: S608
            "AND (start_unix_nano < %s OR end_unix_nano >= %s) ORDER BY trace_id",
            [cutoff, partition.lower_ns, partition.upper_ns],
        )
        straddling = cursor.fetchall()
    batches = 0
    for first in range(0, len(straddling), size):
        chunk = straddling[first : first + size]
        with transaction.atomic():
            # A trace a late span has made anew since the detach keeps its spans: its row, locked, holds off ingest.
            remade = set(
                Trace.objects.select_for_update()
                .filter(trace_id__in=[trace_id for trace_id, _, _ in chunk])
                .order_by("trace_id")
                .values_list("trace_id", flat=True)
            )
            elsewhere = Span.objects.filter(
                trace_id__in=[trace_id for trace_id, _, _ in chunk if trace_id not in remade],
                start_unix_nano__gte=min(start for _, start, _ in chunk),
                start_unix_nano__lte=max(end for _, _, end in chunk),
            )
            _delete_spans(elsewhere.values_list("id", flat=True))
        batches += 1
    return traces, spans, batches


def _delete_traces_of_dropped_day(
    partition: partitions.DayPartition, trace_ids: list[str], cutoff: datetime
) -> tuple[set[str], int]:
    """Delete whole, as the row pass would, those of `trace_ids` still past the cutoff: rows, log records and spans
    in other partitions. Returns the ids deleted and how many spans they had (their summaries' counts: the day's
    are not read).

    One DELETE locks the rows as it goes, not in trace-id order as ingest does (a separate locking pass in that
    order cost as much again): late spans for two of these traces in one ingest batch at that moment can deadlock
    with it, and Postgres then cancels one of the two; the ingest request is answered 503 and sent again, or this
    run stops and the next finishes the detached day."""
    with transaction.atomic(), connection.cursor() as cursor:
        # Not waiting for the commit's WAL flush: a crash may undo the last of these batches, and the next run,
        # finding the detached day not dropped yet, deletes them again (the drop's own commit waits, and flushes
        # every batch's WAL before it).
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(
            "WITH gone AS (DELETE FROM traces WHERE trace_id = ANY(%s) AND last_ingested_at < %s "
            "RETURNING trace_id, start_unix_nano, end_unix_nano, span_count), "
            "records AS (DELETE FROM span_log_records WHERE trace_id IN (SELECT trace_id FROM gone)) "
            "SELECT * FROM gone",
            [trace_ids, cutoff],
        )
        deleted = cursor.fetchall()
        # Every span of a trace starts within the trace's times, so a trace within the day has no span elsewhere;
        # the others' are looked for within their times, which reads only the partitions of those days.
        straddling = [row for row in deleted if row[1] < partition.lower_ns or row[2] >= partition.upper_ns]
        if straddling:
            elsewhere = Span.objects.filter(
                trace_id__in=[trace_id for trace_id, *_ in straddling],
                start_unix_nano__gte=min(start for _, start, _, _ in straddling),
                start_unix_nano__lte=max(end for _, _, end, _ in straddling),
            )
            _delete_spans(elsewhere.values_list("id", flat=True))
        gone = [trace_id for trace_id, *_ in deleted]
    return set(gone), sum(span_count for *_, span_count in deleted)


def _put_back_spans_of_dropped_day(partition: partitions.DayPartition, trace_ids: list[str]) -> int:
    """Retained traces whose spans of the detached day did not go back when it was detached get back those they
    lack (a span re-sent meanwhile was counted as new by ingest), and their summaries recomputed, under their row
    locks. Returns how many spans went back."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT trace_id FROM traces WHERE trace_id = ANY(%s) ORDER BY trace_id FOR UPDATE", [trace_ids])
        retained = [trace_id for (trace_id,) in cursor.fetchall()]
        if not retained:
            return 0
        cursor.execute(
            f'INSERT INTO spans SELECT p.* FROM "{partition.name}" p WHERE p.trace_id = ANY(%s) '  # noqa: S608
            "AND NOT EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = p.trace_id AND s.span_id = p.span_id)",
            [retained],
        )
        if put_back := cursor.rowcount:
            recompute_summaries(retained)
    return put_back


def _delete_payload_refs_of_dropped_day(table: str, retained: list[str]) -> None:
    """The payload refs of the detached day's spans that are not back in `spans` (their blobs, once unreferenced,
    are swept by `payloads.retention`): all but those of retained traces' spans put back with the same row id."""
    with connection.cursor() as cursor:
        # Row ids grow with ingest, so the day's lowest and highest bound the refs to look at (by their unique
        # index), not every ref of the days kept.
        cursor.execute(f'SELECT min(id), max(id) FROM "{table}"')  # noqa: S608
        row = cursor.fetchone()
        if not row or row[0] is None:
            return
        cursor.execute(
            f'DELETE FROM span_payload_refs r USING "{table}" p '  # noqa: S608
            "WHERE r.span_id BETWEEN %s AND %s AND r.span_id = p.id AND (p.trace_id <> ALL(%s) OR NOT EXISTS ("
            "SELECT 1 FROM spans s WHERE s.trace_id = p.trace_id AND s.span_id = p.span_id AND s.id = p.id))",
            [row[0], row[1], retained],
        )


def _expire_one_batch(cutoff: datetime, size: int) -> tuple[int, int]:
    """Expire the oldest traces that fit in one batch of `size` spans; return (traces, spans) deleted."""
    oldest = list(
        Trace.objects.filter(last_ingested_at__lt=cutoff)
        .order_by("last_ingested_at", "trace_id")
        .values_list("trace_id", "span_count")[:size]
    )
    if not oldest:
        return 0, 0
    chosen: list[str] = []
    planned_spans = 0
    for trace_id, span_count in oldest:
        if chosen and planned_spans + span_count > size:
            break
        chosen.append(trace_id)
        planned_spans += span_count
    with transaction.atomic():
        locked = list(
            Trace.objects.select_for_update()
            .filter(trace_id__in=chosen, last_ingested_at__lt=cutoff)
            .order_by("trace_id")
            .values_list("trace_id", flat=True)
        )
        if len(locked) == 1 and planned_spans > size:
            return _trim_large_trace(locked[0], size)
        spans_deleted = _delete_spans(Span.objects.filter(trace_id__in=locked).values_list("id", flat=True))
        traces_deleted = _delete_traces(locked)
    return traces_deleted, spans_deleted


def _trim_large_trace(trace_id: str, size: int) -> tuple[int, int]:
    """Delete the newest `size` spans of one trace (caller holds its row lock); drop the row with its last."""
    newest = list(
        Span.objects.filter(trace_id=trace_id)
        .order_by("-start_unix_nano", "-id")
        .values_list("id", flat=True)[: size + 1]
    )
    if len(newest) <= size:
        spans_deleted = _delete_spans(newest)
        traces_deleted = _delete_traces([trace_id])
        return traces_deleted, spans_deleted
    spans_deleted = _delete_spans(newest[:size])
    recompute_summaries([trace_id])
    return 0, spans_deleted


def _delete_spans(span_ids: Iterable[int]) -> int:
    ids = list(span_ids)
    if not ids:
        return 0
    return Span.objects.filter(id__in=ids).delete()[1].get(Span._meta.label, 0)


def _delete_traces(trace_ids: list[str]) -> int:
    # Log records name their trace by id only (they may wait for it): they go with it.
    SpanLogRecord.objects.filter(trace_id__in=trace_ids).delete()
    return Trace.objects.filter(trace_id__in=trace_ids).delete()[1].get(Trace._meta.label, 0)

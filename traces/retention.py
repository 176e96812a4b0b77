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

Known limits: a span arriving late for an expired trace creates the trace anew, which then lives for the full
retention period again. An ingest batch racing the transaction that deletes its trace waits on the trace row's
lock, then creates the row again (`traces.ingest`), so no span is left without its trace.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from payloads.retention import UNREFERENCED_BLOB_GRACE, cutoff_for, within_budget
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
) -> MetadataExpiry:
    """Delete every trace (spans and summary) that received no new span in the `days` before `now`.

    `max_seconds` and `max_batches` stop between batches once reached, so a scheduled run never overlaps the
    next; whatever is left is expired by the next run.
    """
    cutoff = cutoff_for(settings.RETENTION_METADATA_DAYS if days is None else days, now)
    size = batch_size or settings.RETENTION_BATCH_SIZE
    if dry_run:
        expired = Trace.objects.filter(last_ingested_at__lt=cutoff)
        spans = Span.objects.filter(trace__last_ingested_at__lt=cutoff).count()
        return MetadataExpiry(cutoff, expired.count(), spans, 0, dry_run=True)
    started = time.monotonic()
    traces_deleted = spans_deleted = batches = 0
    while within_budget(started, max_seconds, batches, max_batches):
        traces, spans = _expire_one_batch(cutoff, size)
        if traces == spans == 0:
            break
        traces_deleted += traces
        spans_deleted += spans
        batches += 1
    return MetadataExpiry(cutoff, traces_deleted, spans_deleted, batches, dry_run=False)


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

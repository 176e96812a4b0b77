"""Celery tasks of the traces app: thin entry points over `traces.retention` and `traces.partitions`, scheduled
by beat.
Each run is capped at a little under the beat interval (`task_budget_seconds`).
"""

from dataclasses import asdict
from typing import Any

from celery import shared_task

from payloads.retention import task_budget_seconds
from traces import partitions, retention
from traces.log_ingest import expire_pending_records


@shared_task(name="traces.tasks.expire_trace_metadata")
def expire_trace_metadata() -> dict[str, Any]:
    result = retention.expire_trace_metadata(max_seconds=task_budget_seconds())
    pending_deleted = expire_pending_records()
    return {**asdict(result), "cutoff": result.cutoff.isoformat(), "pending_log_records_deleted": pending_deleted}


@shared_task(name="traces.tasks.create_span_partitions")
def create_span_partitions() -> dict[str, Any]:
    """Postgres: the day partitions of spans and traces from yesterday to SPAN_PARTITION_DAYS_AHEAD ahead (none on
    SQLite)."""
    return {"created": partitions.ensure_days()}

"""Celery tasks of the traces app: a thin entry point over `traces.retention`, scheduled by beat.
Each run is capped at a little under the beat interval (`task_budget_seconds`).
"""

from dataclasses import asdict
from typing import Any

from celery import shared_task

from payloads.retention import task_budget_seconds
from traces import retention
from traces.log_ingest import expire_pending_records


@shared_task(name="traces.tasks.expire_trace_metadata")
def expire_trace_metadata() -> dict[str, Any]:
    result = retention.expire_trace_metadata(max_seconds=task_budget_seconds())
    pending_deleted = expire_pending_records()
    return {**asdict(result), "cutoff": result.cutoff.isoformat(), "pending_log_records_deleted": pending_deleted}

"""Celery tasks of the traces app: a thin entry point over `traces.retention`, scheduled by beat.
Each run is capped at a little under the beat interval (`task_budget_seconds`).
"""

from dataclasses import asdict
from typing import Any

from celery import shared_task

from payloads.retention import task_budget_seconds
from traces import retention


@shared_task(name="traces.tasks.expire_trace_metadata")
def expire_trace_metadata() -> dict[str, Any]:
    result = retention.expire_trace_metadata(max_seconds=task_budget_seconds())
    return {**asdict(result), "cutoff": result.cutoff.isoformat()}

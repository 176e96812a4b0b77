"""Celery tasks of the traces app: thin entry points over `traces.retention`, scheduled by beat.

Each run is capped at a little under the beat interval so runs never pile up; what is left over is taken by
the next run.
"""

from dataclasses import asdict
from typing import Any

from celery import shared_task
from django.conf import settings

from traces import retention


def _time_budget_seconds() -> float:
    return max(settings.RETENTION_INTERVAL_MINUTES * 60 * 0.9, 1.0)


@shared_task(name="traces.tasks.expire_trace_metadata")
def expire_trace_metadata() -> dict[str, Any]:
    result = retention.expire_trace_metadata(max_seconds=_time_budget_seconds())
    return {**asdict(result), "cutoff": result.cutoff.isoformat()}


@shared_task(name="traces.tasks.expire_payloads")
def expire_payloads() -> dict[str, Any]:
    result = retention.expire_payloads(max_seconds=_time_budget_seconds())
    return {**asdict(result), "cutoff": result.cutoff.isoformat()}

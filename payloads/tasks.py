"""Celery tasks of the payloads app: a thin entry point over `payloads.retention`, scheduled by beat
(CELERY_BEAT_SCHEDULE in settings)."""

from dataclasses import asdict
from typing import Any

from celery import shared_task

from payloads import retention


@shared_task(name="payloads.tasks.expire_payloads")
def expire_payloads() -> dict[str, Any]:
    result = retention.expire_payloads(max_seconds=retention.task_budget_seconds())
    return {**asdict(result), "cutoff": result.cutoff.isoformat()}

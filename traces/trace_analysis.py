"""Reads a trace's spans for `traces.critical_path`: the columns it needs, in one query, no model instances."""

from typing import Any

from traces.critical_path import SlownessReport, TimedSpan, analyse
from traces.models import Span
from traces.semconv import event_mark


def slowness_report(trace_id: str) -> SlownessReport:
    spans = Span.objects.filter(trace_id=trace_id)
    # Events only of the spans that retried: decoding every span's events would cost more than the analysis.
    retried = dict(spans.filter(retry_count__gt=0).values_list("span_id", "events"))
    rows = spans.values_list("span_id", "parent_span_id", "name", "category", "start_unix_nano", "end_unix_nano")
    return analyse(
        TimedSpan(
            span_id=span_id,
            parent_span_id=parent,
            name=name,
            category=category,
            start=start,
            end=end,
            retries=_retries(retried[span_id]) if span_id in retried else (),
        )
        for span_id, parent, name, category, start, end in rows
    )


def _retries(events: list[dict[str, Any]]) -> tuple[tuple[int, float], ...]:
    return tuple(
        (int(event["time_unix_nano"]), _seconds(event.get("attributes", {}).get("tracefoundry.retry.delay_s")))
        for event in events
        if event_mark(event) == "retry"
    )


def _seconds(value: Any) -> float:
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 0.0

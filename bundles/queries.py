"""Reads of stored traces for bundles: a trace's spans as the OTLP span values the bundle code works on."""

from payloads.contracts import OtlpSpan
from traces.models import Span, Trace


def stored_spans(trace_id: str) -> list[OtlpSpan]:
    """Every stored span of the trace (Trace.DoesNotExist if there is no such trace)."""
    trace = Trace.objects.only("trace_id").get(trace_id=trace_id)
    rows = Span.objects.filter(trace=trace).order_by("start_unix_nano", "span_id")
    return [as_otlp_span(row) for row in rows]


def as_otlp_span(row: Span) -> OtlpSpan:
    return OtlpSpan(
        trace_id=row.trace_id,
        span_id=row.span_id,
        parent_span_id=row.parent_span_id,
        name=row.name,
        kind=row.kind,
        start_unix_nano=row.start_unix_nano,
        end_unix_nano=row.end_unix_nano,
        status_code=row.status_code,
        status_message=row.status_message,
        trace_state=row.trace_state,
        flags=row.flags,
        attributes=dict(row.attributes),
        resource_attributes=dict(row.resource_attributes),
        events=list(row.events),
        links=list(row.links),
        scope=dict(row.scope),
        otlp_extra=dict(row.otlp_extra),
    )

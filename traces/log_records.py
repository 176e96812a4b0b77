"""Attach pending log records to their spans: their events join the span's, their payload refs are linked.

Called with the traces' row locks held (by `traces.ingest` after it inserted spans, and by `traces.log_ingest`
after it stored records), so a record is attached exactly once, whichever of it and its span arrived first.
The span's events stay ordered by time (a stable sort: events of equal time keep their order). Attaching
changes no summary and no span column: log records carry content and context, not timings or counts.
"""

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from payloads.ingest import link_stored_blobs
from payloads.row_insert import RefRow
from traces.models import Span, SpanLogRecord


def attach_pending(trace_ids: Iterable[str]) -> int:
    """Attach every pending record of these traces whose span is stored; the number attached."""
    pending = list(
        SpanLogRecord.objects.filter(trace_id__in=list(trace_ids), attached_at__isnull=True)
        .order_by("id")
        .values_list("id", "trace_id", "span_id", "event", "payload_role", "payload_attribute", "payload_sha256")
    )
    if not pending:
        return 0
    spans = {
        (trace_id, span_id): (pk, events)
        for pk, trace_id, span_id, events in Span.objects.filter(
            trace_id__in={row[1] for row in pending}, span_id__in={row[2] for row in pending}
        ).values_list("pk", "trace_id", "span_id", "events")
    }
    ready = [row for row in pending if (row[1], row[2]) in spans]
    if not ready:
        return 0
    new_events: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    refs = []
    for _, trace_id, span_id, event, role, attribute, sha256 in ready:
        new_events[(trace_id, span_id)].append(event or {})
        if sha256:
            refs.append(RefRow(spans[(trace_id, span_id)][0], sha256, role, attribute))
    Span.objects.bulk_update(
        [
            Span(pk=spans[key][0], events=sorted([*spans[key][1], *events], key=_event_time))
            for key, events in new_events.items()
        ],
        ["events"],
    )
    link_stored_blobs(refs)
    SpanLogRecord.objects.filter(id__in=[row[0] for row in ready]).update(event=None, attached_at=timezone.now())
    return len(ready)


def _event_time(event: dict[str, Any]) -> int:
    time = event.get("time_unix_nano")
    return time if isinstance(time, int) else 0

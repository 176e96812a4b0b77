"""In-trace search: which spans of one trace mention a text in their name, status message, attribute keys or
values, or their events' names and attributes (case-insensitive substring).

Payload contents are not searched (they are not span attributes); payload refs and hashes are, as any
attribute value. Known limit: every span of the trace is read, so a 100k-span trace takes about a second.
"""

import json
from typing import Any

from traces.models import Span

MAX_QUERY_LENGTH = 200


def matching_span_ids(trace_id: str, text: str) -> list[str]:
    """Ids of the trace's spans mentioning `text`, in start order."""
    needle = text.casefold()
    rows = (
        Span.objects.filter(trace_id=trace_id)
        .order_by("start_unix_nano", "span_id")
        .values_list("span_id", "name", "status_message", "attributes", "events")
    )
    return [
        span_id
        for span_id, name, status_message, attributes, events in rows
        if needle in name.casefold() or needle in status_message.casefold() or _mentions(needle, attributes, events)
    ]


def _mentions(needle: str, attributes: dict[str, Any], events: list[dict[str, Any]]) -> bool:
    # One JSON text per span: keys, nested values and event fields searched at once. ensure_ascii=False keeps
    # non-ASCII text searchable as typed.
    return needle in json.dumps([attributes, events], ensure_ascii=False).casefold()

"""What differs between a stored trace and the trace a bundle would import under the same id. Pure: no ORM.

Spans are compared by id on what OTLP carries (name, parent, kind, times, status, trace state, flags,
attributes, resource, events, links, scope), as the import would store them (redacted under the server's mode,
payload refs renamed as storing them would rename them), so re-importing the same bundle finds no difference.
Columns the server derives (category, model, cost from the price table, environment) are not compared: they
follow from the content. The summaries are compared only to describe a difference in spans.
"""

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from traces import summary

CONTENT_COLUMNS = (
    "name",
    "parent_span_id",
    "kind",
    "start_unix_nano",
    "end_unix_nano",
    "status_code",
    "status_message",
    "trace_state",
    "flags",
    "attributes",
    "resource_attributes",
    "events",
    "links",
    "scope",
    "otlp_extra",
)
# The summary columns a difference is described by: not the environment (an import sets its own), nor the ids
# and per-service breakdowns, which the span lines already say, nor the model and tool names as text (the lists say
# them).
SUMMARY_FIELDS = tuple(
    field
    for field in summary.FIELDS
    if field
    not in (
        "environment",
        "root_span_id",
        "top_span_id",
        "duration_ns",
        "service_span_counts",
        "service_error_counts",
        "environment_span_counts",
        "models_text",
        "tools_text",
    )
)
_MAX_LISTED = 50


def span_differences(stored: Mapping[str, Mapping[str, Any]], imported: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One line per span added, removed or changed, by span id (`stored` and `imported`: rows by span id)."""
    lines = [f"span {span_id} ({imported[span_id]['name']!r}) added" for span_id in sorted(set(imported) - set(stored))]
    lines += [
        f"span {span_id} ({stored[span_id]['name']!r}) removed" for span_id in sorted(set(stored) - set(imported))
    ]
    for span_id in sorted(set(stored) & set(imported)):
        changed = [column for column in CONTENT_COLUMNS if stored[span_id][column] != imported[span_id][column]]
        if changed:
            lines.append(f"span {span_id} ({stored[span_id]['name']!r}) changed: {', '.join(changed)}")
    return lines


def summary_differences(stored: Mapping[str, Any], imported: Mapping[str, Any]) -> list[str]:
    return [
        f"summary {field}: {_shown(stored[field])} stored, {_shown(imported[field])} in the bundle"
        for field in SUMMARY_FIELDS
        if _normal(stored[field]) != _normal(imported[field])
    ]


def listed(lines: Iterable[str]) -> list[str]:
    """At most _MAX_LISTED lines, the rest counted."""
    items = list(lines)
    if len(items) <= _MAX_LISTED:
        return items
    return [*items[:_MAX_LISTED], f"... and {len(items) - _MAX_LISTED} more"]


def _normal(value: Any) -> Any:
    return Decimal(value) if isinstance(value, Decimal | float) else value


def _shown(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return repr(value) if isinstance(value, str) else str(value)

"""Reads behind the sessions API: traces grouped by the conversation they belong to (`Trace.session_id`).

A session is every trace with the same session id; each trace is one turn. Lists filter with the trace list's
filters (a session is listed when any of its traces matches) and aggregate over all of a session's traces,
keyset-paginated on (aggregate, session id) like the trace list. A session's turns are capped at
`MAX_TURNS`, oldest first.
"""

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import BigIntegerField, Count, ExpressionWrapper, Max, Min, Q, QuerySet, Sum

from payloads.queries import refs_for_spans
from traces.models import Span, Trace, TraceStatus
from traces.queries import TraceFilters, decode_cursor, encode_cursor, filtered_traces

SESSION_SORTS: dict[str, tuple[str, bool]] = {
    # name: (aggregate, descending)
    "newest": ("last_start_unix_nano", True),
    "oldest": ("first_start_unix_nano", False),
    "most_turns": ("turns", True),
    "longest": ("duration_ns", True),
    "most_tokens": ("total_tokens", True),
    "most_expensive": ("cost_usd", True),
    "most_errors": ("error_count", True),
}
MAX_TURNS = 1000
# What ingest stores as a session id: up to 255 characters, no NUL.
_SESSION_ID = re.compile(r"[^\x00]{1,255}", re.DOTALL)


@dataclass(frozen=True)
class SessionPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class SessionDetail:
    session: dict[str, Any]
    turns: list[Trace]
    # Payload refs of each turn's root span, by trace id (the conversation's input and output).
    root_payload_refs: dict[str, list[dict[str, Any]]]
    truncated: bool


def list_sessions(
    filters: TraceFilters, sort: str, limit: int, cursor: str | None, min_turns: int | None = None
) -> SessionPage:
    column, descending = SESSION_SORTS[sort]
    sessions = _aggregated(_matching_session_traces(filters))
    if min_turns is not None:
        sessions = sessions.filter(turns__gte=min_turns)
    if cursor:
        value, last_id = decode_cursor(cursor, column, _SESSION_ID)
        sessions = sessions.filter(
            Q(**{f"{column}__lt" if descending else f"{column}__gt": value})
            | Q(**{column: value, "session_id__lt" if descending else "session_id__gt": last_id})
        )
    order = [f"-{column}", "-session_id"] if descending else [column, "session_id"]
    rows = list(sessions.order_by(*order)[: limit + 1])
    last = rows[limit - 1] if len(rows) > limit else None
    next_cursor = encode_cursor(last[column], last["session_id"]) if last else None
    return SessionPage(items=rows[:limit], next_cursor=next_cursor)


def session_detail(session_id: str) -> SessionDetail:
    """The session's summary and its turns in start order; raises Trace.DoesNotExist for an unknown session."""
    traces = Trace.objects.filter(session_id=session_id)
    summary = next(iter(_aggregated(traces)), None)
    if summary is None:
        raise Trace.DoesNotExist(f"no session {session_id}")
    turns = list(traces.order_by("start_unix_nano", "trace_id").defer("search_text")[: MAX_TURNS + 1])
    roots = Span.objects.filter(
        trace_id__in=[t.trace_id for t in turns[:MAX_TURNS]],
        span_id__in=[t.root_span_id for t in turns[:MAX_TURNS] if t.root_span_id],
    ).values_list("pk", "trace_id", "span_id")
    root_of = {t.trace_id: t.root_span_id for t in turns}
    root_pks = {pk: trace_id for pk, trace_id, span_id in roots if root_of.get(trace_id) == span_id}
    refs = refs_for_spans(list(root_pks))
    return SessionDetail(
        session=summary,
        turns=turns[:MAX_TURNS],
        root_payload_refs={trace_id: refs.get(pk, []) for pk, trace_id in root_pks.items()},
        truncated=len(turns) > MAX_TURNS,
    )


def _matching_session_traces(filters: TraceFilters) -> QuerySet[Trace]:
    """All traces of the sessions with at least one trace matching the filters."""
    with_session = Trace.objects.exclude(session_id="")
    if filters == TraceFilters():
        return with_session
    matching = filtered_traces(filters).exclude(session_id="").values("session_id")
    return with_session.filter(session_id__in=matching)


def _aggregated(traces: QuerySet[Trace]) -> QuerySet[Any]:
    return (
        traces.order_by()
        .values("session_id")
        .annotate(
            turns=Count("trace_id"),
            first_start_unix_nano=Min("start_unix_nano"),
            last_start_unix_nano=Max("start_unix_nano"),
            last_end_unix_nano=Max("end_unix_nano"),
            duration_ns=ExpressionWrapper(
                Max("end_unix_nano") - Min("start_unix_nano"), output_field=BigIntegerField()
            ),
            span_count=Sum("span_count"),
            error_count=Sum("error_count"),
            error_turns=Count("trace_id", filter=Q(status=TraceStatus.ERROR)),
            retry_count=Sum("retry_count"),
            timeout_count=Sum("timeout_count"),
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
            total_tokens=Sum("total_tokens"),
            cost_usd=Sum("cost_usd"),
        )
    )

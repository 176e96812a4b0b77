"""Access rows for the traces query API (see testing/access_table.py): every role may read."""

from testing.access_table import NOBODY, VIEWERS, Access

TRACE_ID = "0123456789abcdef0123456789abcdef"
SPAN_ID = "0123456789abcdef"

ACCESS_RULES = {
    "trace-list": (Access("GET", allowed=VIEWERS),),
    "trace-compare": (Access("GET", data={"a": TRACE_ID, "b": TRACE_ID}, allowed=VIEWERS),),
    "trace-detail": (Access("GET", kwargs={"trace_id": TRACE_ID}, allowed=VIEWERS),),
    "trace-spans": (Access("GET", kwargs={"trace_id": TRACE_ID}, allowed=VIEWERS),),
    "trace-search": (Access("GET", kwargs={"trace_id": TRACE_ID}, data={"q": "x"}, allowed=VIEWERS),),
    "span-detail": (Access("GET", kwargs={"span_id": SPAN_ID}, data={"trace_id": TRACE_ID}, allowed=VIEWERS),),
    "facets": (Access("GET", allowed=VIEWERS),),
    "session-list": (Access("GET", allowed=VIEWERS),),
    "session-detail": (Access("GET", kwargs={"session_id": "conversation-1"}, allowed=VIEWERS),),
    "metrics": (Access("GET", allowed=VIEWERS),),
    # Langfuse-compatible OTLP ingest: POST with an ingest key only; a login opens nothing, and GET is 405.
    "langfuse-otel-traces": (Access("GET", allowed=NOBODY, denied_status=405, anonymous_status=405),),
}

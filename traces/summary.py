"""A trace's summary folded from its spans: a batch's new spans update the stored summary without reading the
trace's other spans, and the same fold over all spans at once gives the from-scratch summary.

Pure (no ORM): `traces.ingest` reads what a batch needs (the trace row, the stored top span, which parents and
children of the batch are stored) and writes the result. What makes each column foldable, whatever the order:
- counts, token and cost sums, start/end, status, models and tools: sums, min/max and unions (models and tools
  also as text, one name a line, for the filters);
- the top span (the earliest root, else the earliest span): the smallest (not a root, start, span id) key of the
  stored top and the new spans; `root_span_id` is its id when it is a root;
- service and environment: the top span's, else the most frequent among spans (counts per value are kept on the
  trace, errors per service too, for the trace's per-service breakdown), ties to the smallest name;
- orphans: the caller adds the new spans whose parent is not stored and subtracts the stored spans whose parent
  is among the new ones;
- search text: distinct words in sorted order, kept while they fit in `SEARCH_TEXT_CHARS`; the first word left out
  is kept beside it, so a word that sorts after it stays out, as it would from scratch.
"""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from payloads import refs
from traces import span_limits
from traces.models import SpanCategory, StatusCode, TraceStatus

SpanRow = Mapping[str, Any]
Summary = dict[str, Any]

SEARCH_VALUE_CHARS = 200
SEARCH_TEXT_CHARS = 32_000
# Payload refs are content hashes: nothing anyone types into a search box, and a lot of index to keep current.
_UNSEARCHED_PREFIX = refs.KEY_PREFIX
_SEARCHED_COLUMNS = ("trace_id", "name", "model", "tool_name", "service", "status_message")
_TOKEN_CATEGORIES = (SpanCategory.LLM, SpanCategory.EMBEDDING)

# The trace columns a summary holds (search text apart: ingest merges it, a recompute leaves it).
FIELDS = (
    "service",
    "environment",
    "root_span_id",
    "root_span_name",
    "top_span_id",
    "start_unix_nano",
    "end_unix_nano",
    "duration_ns",
    "status",
    "span_count",
    "error_count",
    "llm_call_count",
    "tool_call_count",
    "retry_count",
    "timeout_count",
    "orphan_count",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
    "models_used",
    "tools_used",
    "models_text",
    "tools_text",
    "service_span_counts",
    "service_error_counts",
    "environment_span_counts",
)
# The span columns the fold reads.
SPAN_COLUMNS = (
    "span_id",
    "parent_span_id",
    "name",
    "start_unix_nano",
    "end_unix_nano",
    "status_code",
    "category",
    "model",
    "tool_name",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
    "retry_count",
    "is_timeout",
    "service",
    "environment",
)


@dataclass(frozen=True, slots=True)
class TopSpan:
    """The span a trace is named after: its earliest root, else its earliest span."""

    span_id: str
    is_root: bool
    start_unix_nano: int
    name: str
    service: str
    environment: str

    @property
    def key(self) -> tuple[bool, int, str]:
        return (not self.is_root, self.start_unix_nano, self.span_id)

    @classmethod
    def of(cls, span: SpanRow) -> "TopSpan":
        return cls(
            span_id=span["span_id"],
            is_root=not span["parent_span_id"],
            start_unix_nano=span["start_unix_nano"],
            name=span["name"],
            service=span["service"],
            environment=span["environment"],
        )


def empty() -> Summary:
    return {
        **dict.fromkeys(FIELDS, 0),
        **dict.fromkeys(("service", "environment", "root_span_id", "root_span_name", "top_span_id"), ""),
        "status": str(TraceStatus.OK),
        "cost_usd": Decimal(0),
        "models_used": [],
        "tools_used": [],
        "models_text": "",
        "tools_text": "",
        "service_span_counts": {},
        "service_error_counts": {},
        "environment_span_counts": {},
    }


def add_spans(summary: Summary, top: TopSpan | None, spans: Sequence[SpanRow], orphan_change: int) -> Summary:
    """`summary` with `spans` (none of them stored yet) added; `top` is the stored top span (None if no span is
    stored), `orphan_change` the change in orphans the caller counted (see the module docstring)."""
    if not spans:
        return dict(summary)
    candidate = min((TopSpan.of(span) for span in spans), key=lambda t: t.key)
    if top is None or candidate.key < top.key:
        top = candidate
    first_spans = summary["span_count"] == 0
    start = min(span["start_unix_nano"] for span in spans)
    end = max(span["end_unix_nano"] for span in spans)
    if not first_spans:
        start, end = min(start, summary["start_unix_nano"]), max(end, summary["end_unix_nano"])
    counted = [span for span in spans if span["category"] in _TOKEN_CATEGORIES]
    errors = sum(1 for span in spans if span["status_code"] == StatusCode.ERROR)
    services = _add_counts(summary["service_span_counts"], (span["service"] for span in spans))
    service_errors = _add_counts(
        summary["service_error_counts"], (s["service"] for s in spans if s["status_code"] == StatusCode.ERROR)
    )
    environments = _add_counts(summary["environment_span_counts"], (span["environment"] for span in spans))
    models_used = sorted({*summary["models_used"], *(span["model"] for span in spans if span["model"])})
    tools_used = sorted({*summary["tools_used"], *(span["tool_name"] for span in spans if span["tool_name"])})
    return {
        **summary,
        "service": top.service or _most_frequent(services),
        "environment": top.environment or _most_frequent(environments),
        "root_span_id": top.span_id if top.is_root else "",
        "root_span_name": top.name,
        "top_span_id": top.span_id,
        "start_unix_nano": start,
        "end_unix_nano": end,
        "duration_ns": end - start,
        "status": str(TraceStatus.ERROR if errors or summary["status"] == TraceStatus.ERROR else TraceStatus.OK),
        "span_count": summary["span_count"] + len(spans),
        "error_count": summary["error_count"] + errors,
        "llm_call_count": summary["llm_call_count"] + sum(1 for s in spans if s["category"] == SpanCategory.LLM),
        "tool_call_count": summary["tool_call_count"] + sum(1 for s in spans if s["category"] == SpanCategory.TOOL),
        # Sums saturate (see `traces.span_limits`): no summary can overflow its column.
        "retry_count": min(
            summary["retry_count"] + sum(span["retry_count"] for span in spans), span_limits.MAX_TRACE_RETRIES
        ),
        "timeout_count": summary["timeout_count"] + sum(1 for span in spans if span["is_timeout"]),
        "orphan_count": summary["orphan_count"] + orphan_change,
        "input_tokens": min(
            summary["input_tokens"] + sum(span["input_tokens"] for span in counted), span_limits.MAX_TRACE_TOKENS
        ),
        "output_tokens": min(
            summary["output_tokens"] + sum(span["output_tokens"] for span in counted), span_limits.MAX_TRACE_TOKENS
        ),
        "total_tokens": min(
            summary["total_tokens"] + sum(span["total_tokens"] for span in counted), span_limits.MAX_TRACE_TOKENS
        ),
        "cost_usd": min(
            Decimal(summary["cost_usd"]) + sum((Decimal(span["cost_usd"]) for span in counted), Decimal(0)),
            span_limits.MAX_TRACE_COST_USD,
        ),
        "models_used": models_used,
        "tools_used": tools_used,
        "models_text": names_text(models_used),
        "tools_text": names_text(tools_used),
        "service_span_counts": services,
        "service_error_counts": service_errors,
        "environment_span_counts": environments,
    }


def names_text(names: Sequence[str]) -> str:
    """Model or tool names as the filters search them: one a line (migration 0010 backfills the same)."""
    return "\n".join(names)


def from_scratch(spans: Sequence[SpanRow]) -> Summary:
    """The summary of a trace from all its spans."""
    ids = {span["span_id"] for span in spans}
    orphans = sum(1 for span in spans if span["parent_span_id"] and span["parent_span_id"] not in ids)
    return add_spans(empty(), None, spans, orphans)


def _add_counts(counts: dict[str, int], values: Iterable[str]) -> dict[str, int]:
    total = Counter(counts)
    total.update(values)
    return dict(sorted(total.items()))


def _most_frequent(counts: dict[str, int]) -> str:
    named = [(count, value) for value, count in counts.items() if value]
    return min(named, key=lambda item: (-item[0], item[1]))[1] if named else ""


def search_words(span: SpanRow) -> set[str]:
    """The words a span adds to its trace's search text: ids, names, models, tools, attribute and event attribute
    values."""
    words = {value.replace("\n", " ") for value in (span[column] for column in _SEARCHED_COLUMNS) if value}
    _add_attribute_words(words, span["attributes"])
    for event in span.get("events") or ():
        # Payload content was moved out of events before this point; only their refs remain (skipped).
        _add_attribute_words(words, event.get("attributes") or {})
    return words


def _add_attribute_words(words: set[str], attributes: Mapping[str, Any]) -> None:
    for key, value in attributes.items():
        if value and isinstance(value, str) and not key.startswith(_UNSEARCHED_PREFIX):
            words.add(value[:SEARCH_VALUE_CHARS].replace("\n", " "))


def merge_search_text(text: str, left_out: str, words: set[str], limit: int = SEARCH_TEXT_CHARS) -> tuple[str, str]:
    """The search text (and its first word left out, "" if none) with `words` added."""
    merged = set(text.split("\n")) if text else set()
    merged |= {word for word in words if not left_out or word < left_out}
    if left_out:
        merged.add(left_out)
    kept: list[str] = []
    size = -1
    for word in sorted(merged):
        size += len(word) + 1
        if size > limit:
            return "\n".join(kept), word
        kept.append(word)
    return "\n".join(kept), ""

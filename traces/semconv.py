"""Map span attributes from OpenTelemetry GenAI, OpenInference and TraceFoundry conventions to columns.

Pure: no ORM, no I/O. Current and older spellings are both read: the OpenTelemetry GenAI semantic conventions
(https://opentelemetry.io/docs/specs/semconv/gen-ai/) and OpenInference's
(https://github.com/Arize-ai/openinference/blob/main/spec/semantic_conventions.md).

Retries are recognised from:
- span events named `tracefoundry.retry` or `retry`, or whose name ends in `.retry` (one retry each);
- the attribute `tracefoundry.retry.count` (retries made inside the span);
- `http.request.resend_count` > 0 (the span itself is a resend, counted once).

Timeouts are recognised from:
- span events named `tracefoundry.timeout` or `timeout`, or whose name ends in `.timeout`;
- the attribute `tracefoundry.timeout` set to true;
- `error.type`, or `exception.type` on an `exception` event, containing "timeout" (any case), such as
  `TimeoutError`, `httpx.ReadTimeout`, `asyncio.TimeoutError`;
- an error status message containing "timeout" or "timed out".
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from payloads.contracts import Attributes
from traces.models import SpanCategory

_OPERATION_CATEGORIES = {
    "chat": SpanCategory.LLM,
    "text_completion": SpanCategory.LLM,
    "generate_content": SpanCategory.LLM,
    "embeddings": SpanCategory.EMBEDDING,
    "retrieval": SpanCategory.RETRIEVER,
    "execute_tool": SpanCategory.TOOL,
    "invoke_agent": SpanCategory.AGENT,
    "create_agent": SpanCategory.AGENT,
    "invoke_workflow": SpanCategory.CHAIN,
}

_OPENINFERENCE_CATEGORIES = {
    "LLM": SpanCategory.LLM,
    "TOOL": SpanCategory.TOOL,
    "AGENT": SpanCategory.AGENT,
    "CHAIN": SpanCategory.CHAIN,
    "RETRIEVER": SpanCategory.RETRIEVER,
    "RERANKER": SpanCategory.RETRIEVER,
    "EMBEDDING": SpanCategory.EMBEDDING,
}

# OpenInference span kinds as GenAI operation names, so the operation column reads the same for both.
_OPENINFERENCE_OPERATIONS = {
    "LLM": "chat",
    "TOOL": "execute_tool",
    "AGENT": "invoke_agent",
    "EMBEDDING": "embeddings",
    "RETRIEVER": "retrieval",
}

_MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model", "llm.model_name", "embedding.model_name")
_PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
_TOOL_KEYS = ("gen_ai.tool.name", "tool.name")
_INPUT_TOKEN_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt")
_OUTPUT_TOKEN_KEYS = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
)
_TOTAL_TOKEN_KEYS = ("llm.token_count.total", "gen_ai.usage.total_tokens")
_COST_KEYS = ("tracefoundry.cost.usd", "llm.cost.total")
_ENVIRONMENT_KEYS = ("deployment.environment.name", "deployment.environment")

_RETRY_EVENT_NAMES = {"tracefoundry.retry", "retry"}
_TIMEOUT_EVENT_NAMES = {"tracefoundry.timeout", "timeout"}
_TIMEOUT_TEXT = re.compile(r"time[d]?[\s_-]?out", re.IGNORECASE)
_STATUS_ERROR = 2


@dataclass(frozen=True, slots=True)
class SpanSemantics:
    category: str
    operation_name: str
    model: str
    provider: str
    tool_name: str
    input_tokens: int
    output_tokens: int
    total_tokens: int
    stated_cost_usd: Decimal | None
    retry_count: int
    is_timeout: bool


def map_span(
    name: str,
    attributes: Attributes,
    events: list[dict[str, Any]],
    status_code: int,
    status_message: str,
) -> SpanSemantics:
    oi_kind = str(attributes.get("openinference.span.kind", "")).upper()
    operation = _first_str(attributes, ("gen_ai.operation.name",)) or _OPENINFERENCE_OPERATIONS.get(oi_kind, "")
    model = _first_str(attributes, _MODEL_KEYS)
    tool_name = _first_str(attributes, _TOOL_KEYS)
    if not tool_name and operation == "execute_tool":
        tool_name = name.removeprefix("execute_tool ").strip()
    input_tokens = _first_int(attributes, _INPUT_TOKEN_KEYS)
    output_tokens = _first_int(attributes, _OUTPUT_TOKEN_KEYS)
    total_tokens = _first_int(attributes, _TOTAL_TOKEN_KEYS) or input_tokens + output_tokens
    return SpanSemantics(
        category=_category(operation, oi_kind, model, tool_name, total_tokens),
        operation_name=operation[:64],
        model=model[:255],
        provider=_first_str(attributes, _PROVIDER_KEYS)[:64],
        tool_name=tool_name[:255],
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=total_tokens,
        stated_cost_usd=_stated_cost(attributes),
        retry_count=_retry_count(attributes, events),
        is_timeout=_is_timeout(attributes, events, status_code, status_message),
    )


def environment_of(resource_attributes: Attributes) -> str:
    return _first_str(resource_attributes, _ENVIRONMENT_KEYS)[:255]


def service_of(resource_attributes: Attributes) -> str:
    return _first_str(resource_attributes, ("service.name",))[:255]


def _category(operation: str, oi_kind: str, model: str, tool_name: str, total_tokens: int) -> str:
    if operation in _OPERATION_CATEGORIES:
        return _OPERATION_CATEGORIES[operation]
    if oi_kind in _OPENINFERENCE_CATEGORIES:
        return _OPENINFERENCE_CATEGORIES[oi_kind]
    if tool_name:
        return SpanCategory.TOOL
    if model and total_tokens:
        return SpanCategory.LLM
    return SpanCategory.OTHER


def _stated_cost(attributes: Attributes) -> Decimal | None:
    for key in _COST_KEYS:
        cost = _decimal(attributes.get(key))
        if cost is not None:
            return cost
    prompt, completion = (
        _decimal(attributes.get("llm.cost.prompt")),
        _decimal(attributes.get("llm.cost.completion")),
    )
    if prompt is not None or completion is not None:
        return (prompt or Decimal(0)) + (completion or Decimal(0))
    return None


def _retry_count(attributes: Attributes, events: list[dict[str, Any]]) -> int:
    from_events = sum(1 for event in events if _event_is(event, _RETRY_EVENT_NAMES, ".retry"))
    stated = _first_int(attributes, ("tracefoundry.retry.count",))
    resent = 1 if _first_int(attributes, ("http.request.resend_count",)) > 0 else 0
    return max(from_events, stated) + resent


def _is_timeout(attributes: Attributes, events: list[dict[str, Any]], status_code: int, status_message: str) -> bool:
    if attributes.get("tracefoundry.timeout") is True:
        return True
    if _TIMEOUT_TEXT.search(str(attributes.get("error.type", ""))):
        return True
    for event in events:
        if _event_is(event, _TIMEOUT_EVENT_NAMES, ".timeout"):
            return True
        if event.get("name") == "exception" and _TIMEOUT_TEXT.search(
            str(event.get("attributes", {}).get("exception.type", ""))
        ):
            return True
    return status_code == _STATUS_ERROR and bool(_TIMEOUT_TEXT.search(status_message))


def event_mark(event: dict[str, Any]) -> str:
    """What the explorer marks an event as on its span's bar: "retry", "timeout", "exception" or ""."""
    if _event_is(event, _RETRY_EVENT_NAMES, ".retry"):
        return "retry"
    if _event_is(event, _TIMEOUT_EVENT_NAMES, ".timeout"):
        return "timeout"
    return "exception" if event.get("name") == "exception" else ""


def _event_is(event: dict[str, Any], names: set[str], suffix: str) -> bool:
    name = str(event.get("name", ""))
    return name in names or name.endswith(suffix)


def _first_str(attributes: Attributes, keys: tuple[str, ...]) -> str:
    for key in keys:
        value = attributes.get(key)
        if value and value.__class__ is str:
            return value
    return ""


def _first_int(attributes: Attributes, keys: tuple[str, ...]) -> int:
    for key in keys:
        value = attributes.get(key)
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            return max(int(value), 0)
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return 0


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None


def session_id_of(attributes: Attributes, resource_attributes: Attributes, keys: list[str]) -> str:
    """The conversation id a span names under the first of `keys` present (span attributes, then resource)."""
    for source in (attributes, resource_attributes):
        for key in keys:
            value = source.get(key)
            if value is not None and value != "" and not isinstance(value, dict | list | bool):
                return str(value)
    return ""

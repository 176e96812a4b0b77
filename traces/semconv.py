"""Map span attributes from the LLM tracing conventions to columns.

Pure: no ORM, no I/O. Current and older spellings are both read: the OpenTelemetry GenAI semantic conventions
(https://opentelemetry.io/docs/specs/semconv/gen-ai/) and OpenInference's
(https://github.com/Arize-ai/openinference/blob/main/spec/semantic_conventions.md), and those of OpenLLMetry/
Traceloop (`traceloop.span.kind`, `traceloop.entity.name`), the Vercel AI SDK (`ai.operationId`, `ai.model.*`,
`ai.usage.*`, `ai.toolCall.name`), the Langfuse SDK (`langfuse.observation.type`, `.model.name`,
`.usage_details`), MLflow (`mlflow.spanType`, `mlflow.llm.model`, `mlflow.chat.tokenUsage`, JSON-encoded) and
Google ADK (its legacy `call_llm` wrapper spans).
What each library's release sends is recorded in `testing/conventions/golden/`.

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

Numbers are read through `traces.span_limits`: a token count, cost or retry count that is not a number in
range is not counted, and the reason is listed in `SpanSemantics.problems`.
"""

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from payloads.contracts import Attributes
from traces import span_limits
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

# Vercel AI SDK operations (`ai.operationId`): the `do*` spans are the provider calls, the others wrap them.
_VERCEL_CATEGORIES = {
    "ai.generateText.doGenerate": SpanCategory.LLM,
    "ai.streamText.doStream": SpanCategory.LLM,
    "ai.generateObject.doGenerate": SpanCategory.LLM,
    "ai.streamObject.doStream": SpanCategory.LLM,
    "ai.embed.doEmbed": SpanCategory.EMBEDDING,
    "ai.embedMany.doEmbed": SpanCategory.EMBEDDING,
    "ai.toolCall": SpanCategory.TOOL,
    "ai.generateText": SpanCategory.CHAIN,
    "ai.streamText": SpanCategory.CHAIN,
    "ai.generateObject": SpanCategory.CHAIN,
    "ai.streamObject": SpanCategory.CHAIN,
    "ai.embed": SpanCategory.CHAIN,
    "ai.embedMany": SpanCategory.CHAIN,
}
# Langfuse observation types, MLflow span types and Traceloop span kinds (all compared lower-cased).
_TYPE_CATEGORIES = {
    "generation": SpanCategory.LLM,
    "chat_model": SpanCategory.LLM,
    "llm": SpanCategory.LLM,
    "embedding": SpanCategory.EMBEDDING,
    "tool": SpanCategory.TOOL,
    "agent": SpanCategory.AGENT,
    "retriever": SpanCategory.RETRIEVER,
    "reranker": SpanCategory.RETRIEVER,
    "chain": SpanCategory.CHAIN,
    "workflow": SpanCategory.CHAIN,
    "task": SpanCategory.CHAIN,
}
_TYPE_KEYS = ("langfuse.observation.type", "mlflow.spanType", "traceloop.span.kind")
# Google ADK's legacy telemetry (schema 1) wraps each model call in a `call_llm` span around the `generate_content`
# span, both carrying the call's usage: the wrapper is a chain step, so the call and its tokens count once.
_ADK_CALL_LLM = "call_llm"
_ADK_INVOCATION = "gcp.vertex.agent.invocation_id"  # on ADK's spans (content keys are gone by mapping time)
_CATEGORY_OPERATIONS: dict[str, str] = {
    SpanCategory.LLM: "chat",
    SpanCategory.EMBEDDING: "embeddings",
    SpanCategory.TOOL: "execute_tool",
    SpanCategory.AGENT: "invoke_agent",
    SpanCategory.RETRIEVER: "retrieval",
}

_MODEL_KEYS = (
    "gen_ai.response.model",
    "gen_ai.request.model",
    "llm.model_name",
    "embedding.model_name",
    "ai.response.model",
    "ai.model.id",
    "langfuse.observation.model.name",
    "mlflow.llm.model",
)
_PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system", "ai.model.provider")
_TOOL_KEYS = ("gen_ai.tool.name", "tool.name", "ai.toolCall.name")
_INPUT_TOKEN_KEYS = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
    "ai.usage.inputTokens",
    "ai.usage.promptTokens",
    "ai.usage.tokens",
    "llm.usage.prompt_tokens",
)
_OUTPUT_TOKEN_KEYS = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
    "ai.usage.outputTokens",
    "ai.usage.completionTokens",
    "llm.usage.completion_tokens",
)
_TOTAL_TOKEN_KEYS = (
    "llm.token_count.total",
    "gen_ai.usage.total_tokens",
    "ai.usage.totalTokens",
    "llm.usage.total_tokens",
)
# JSON objects of token counts: Langfuse's usage_details and MLflow's tokenUsage.
_USAGE_JSON_KEYS = ("langfuse.observation.usage_details", "mlflow.chat.tokenUsage")
_USAGE_INPUT_FIELDS = ("input", "input_tokens", "prompt_tokens", "promptTokens")
_USAGE_OUTPUT_FIELDS = ("output", "output_tokens", "completion_tokens", "completionTokens")
_USAGE_TOTAL_FIELDS = ("total", "total_tokens", "totalTokens")
_COST_KEYS = ("tracefoundry.cost.usd", "llm.cost.total")
_ENVIRONMENT_KEYS = ("deployment.environment.name", "deployment.environment")

_RETRY_EVENT_NAMES = {"tracefoundry.retry", "retry"}
_TIMEOUT_EVENT_NAMES = {"tracefoundry.timeout", "timeout"}
_TIMEOUT_TEXT = re.compile(r"time[d]?[\s_-]?out", re.IGNORECASE)
_STATUS_ERROR = 2


@dataclass(slots=True)  # not frozen: built for every span, and a frozen dataclass is six times slower to build
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
    # Why a mapped attribute was not counted, one reason per attribute (empty when all were usable).
    problems: tuple[str, ...] = ()


def map_span(
    name: str,
    attributes: Attributes,
    events: list[dict[str, Any]],
    status_code: int,
    status_message: str,
) -> SpanSemantics:
    oi_kind = str(attributes.get("openinference.span.kind", "")).upper()
    typed = _typed_category(name, attributes)
    operation = (
        _first_str(attributes, ("gen_ai.operation.name",))
        or _OPENINFERENCE_OPERATIONS.get(oi_kind, "")
        or _CATEGORY_OPERATIONS.get(typed, "")
    )
    model = _unquoted(_first_str(attributes, _MODEL_KEYS))
    tool_name = _first_str(attributes, _TOOL_KEYS)
    if not tool_name and typed == SpanCategory.TOOL:
        tool_name = _first_str(attributes, ("traceloop.entity.name",)) or name
    if not tool_name and operation == "execute_tool":
        tool_name = name.removeprefix("execute_tool ").strip()
    problems: list[str] = []
    usage = _usage_json(attributes)
    input_tokens = _first_count(attributes, _INPUT_TOKEN_KEYS, span_limits.MAX_TOKENS, problems) or _first_count(
        usage, _USAGE_INPUT_FIELDS, span_limits.MAX_TOKENS, problems
    )
    output_tokens = _first_count(attributes, _OUTPUT_TOKEN_KEYS, span_limits.MAX_TOKENS, problems) or _first_count(
        usage, _USAGE_OUTPUT_FIELDS, span_limits.MAX_TOKENS, problems
    )
    total_tokens = (
        _first_count(attributes, _TOTAL_TOKEN_KEYS, span_limits.MAX_TOKENS, problems)
        or _first_count(usage, _USAGE_TOTAL_FIELDS, span_limits.MAX_TOKENS, problems)
        or min(input_tokens + output_tokens, span_limits.MAX_TOKENS)
    )
    return SpanSemantics(
        category=typed or _category(operation, oi_kind, model, tool_name, total_tokens),
        operation_name=operation[:64],
        model=model[:255],
        provider=_first_str(attributes, _PROVIDER_KEYS)[:64],
        tool_name=tool_name[:255],
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=total_tokens,
        stated_cost_usd=_stated_cost(attributes, problems),
        retry_count=_retry_count(attributes, events, problems),
        is_timeout=_is_timeout(attributes, events, status_code, status_message),
        problems=tuple(problems),
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


def _typed_category(name: str, attributes: Attributes) -> str:
    """The category stated by a convention that names span types (Vercel AI, Langfuse, MLflow, Traceloop, ADK)."""
    if name == _ADK_CALL_LLM and _ADK_INVOCATION in attributes:
        return SpanCategory.CHAIN
    vercel = attributes.get("ai.operationId")
    if vercel.__class__ is str and vercel in _VERCEL_CATEGORIES:
        return _VERCEL_CATEGORIES[vercel]
    stated = _unquoted(_first_str(attributes, _TYPE_KEYS)).lower()
    return _TYPE_CATEGORIES.get(stated, "")


def _unquoted(value: str) -> str:
    """MLflow JSON-encodes its string attributes (`"gpt-4o"`)."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        return decoded if isinstance(decoded, str) else value
    return value


def _usage_json(attributes: Attributes) -> Attributes:
    for key in _USAGE_JSON_KEYS:
        value = attributes.get(key)
        if value.__class__ is str and value.startswith("{"):
            try:
                decoded = json.loads(value)
            except ValueError:
                continue
            if isinstance(decoded, dict):
                return decoded
    return {}


def _stated_cost(attributes: Attributes, problems: list[str]) -> Decimal | None:
    for key in _COST_KEYS:
        cost = _cost(attributes, key, problems)
        if cost is not None:
            return cost
    prompt = _cost(attributes, "llm.cost.prompt", problems)
    completion = _cost(attributes, "llm.cost.completion", problems)
    if prompt is None and completion is None:
        return None
    total = span_limits.bounded_cost((prompt or Decimal(0)) + (completion or Decimal(0)))
    if total is None:
        problems.append(_problem("llm.cost.prompt + llm.cost.completion", span_limits.MAX_COST_USD, "a cost in USD"))
    return total


def _cost(attributes: Attributes, key: str, problems: list[str]) -> Decimal | None:
    value = attributes.get(key)
    if value is None:
        return None
    cost = span_limits.cost(value)
    if cost is None:
        problems.append(_problem(key, span_limits.MAX_COST_USD, "a cost in USD"))
    return cost


def _retry_count(attributes: Attributes, events: list[dict[str, Any]], problems: list[str]) -> int:
    from_events = sum(1 for event in events if _event_is(event, _RETRY_EVENT_NAMES, ".retry"))
    stated = _first_count(attributes, ("tracefoundry.retry.count",), span_limits.MAX_RETRIES, problems)
    resent = _first_count(attributes, ("http.request.resend_count",), span_limits.MAX_RETRIES, problems)
    return min(max(from_events, stated) + (1 if resent > 0 else 0), span_limits.MAX_RETRIES)


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


def _first_count(attributes: Attributes, keys: tuple[str, ...], maximum: int, problems: list[str]) -> int:
    """The first of the keys holding a usable count; the ones holding something else are noted and skipped."""
    for key in keys:
        value = attributes.get(key)
        if value is None:
            continue
        number = span_limits.count(value, maximum)
        if number is not None:
            return number
        problems.append(_problem(key, maximum, "a whole number"))
    return 0


def _problem(key: str, maximum: int | Decimal, what: str) -> str:
    return f"{key}: not {what} {span_limits.range_text(maximum)}, not counted"


def named_id_of(attributes: Attributes, resource_attributes: Attributes, keys: list[str]) -> str:
    """The id (of a conversation, of a user) a span names under the first of `keys` present (span attributes,
    then resource attributes)."""
    for source in (attributes, resource_attributes):
        for key in keys:
            value = source.get(key)
            if value is not None and value != "" and not isinstance(value, dict | list | bool):
                return str(value)
    return ""

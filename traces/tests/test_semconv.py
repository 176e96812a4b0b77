"""`traces.semconv`: every row of its mapping tables, and the retry and timeout rules, as parametrised cases."""

from decimal import Decimal
from typing import Any

import pytest

from traces import semconv


def _map(attributes: dict[str, Any], name: str = "span", events: list[dict[str, Any]] | None = None, **status: Any):
    return semconv.map_span(name, attributes, events or [], status.get("code", 0), status.get("message", ""))


@pytest.mark.parametrize(
    ("operation", "category"),
    [
        ("chat", "llm"),
        ("text_completion", "llm"),
        ("generate_content", "llm"),
        ("embeddings", "embedding"),
        ("retrieval", "retriever"),
        ("execute_tool", "tool"),
        ("invoke_agent", "agent"),
        ("create_agent", "agent"),
        ("invoke_workflow", "chain"),
        ("something_new", "other"),
    ],
)
def test_genai_operation_names_give_the_category(operation: str, category: str) -> None:
    meaning = _map({"gen_ai.operation.name": operation})

    assert (meaning.category, meaning.operation_name) == (category, operation)


@pytest.mark.parametrize(
    ("kind", "category", "operation"),
    [
        ("LLM", "llm", "chat"),
        ("TOOL", "tool", "execute_tool"),
        ("AGENT", "agent", "invoke_agent"),
        ("CHAIN", "chain", ""),
        ("RETRIEVER", "retriever", "retrieval"),
        ("RERANKER", "retriever", ""),
        ("EMBEDDING", "embedding", "embeddings"),
        ("llm", "llm", "chat"),
        ("GUARDRAIL", "other", ""),
    ],
)
def test_openinference_span_kinds_give_category_and_operation(kind: str, category: str, operation: str) -> None:
    meaning = _map({"openinference.span.kind": kind})

    assert (meaning.category, meaning.operation_name) == (category, operation)


def test_the_genai_operation_wins_over_the_openinference_kind() -> None:
    assert _map({"gen_ai.operation.name": "chat", "openinference.span.kind": "TOOL"}).category == "llm"


@pytest.mark.parametrize(
    ("attributes", "model"),
    [
        ({"gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.request.model": "gpt-4o"}, "gpt-4o-2024-08-06"),
        ({"gen_ai.request.model": "gpt-4o", "llm.model_name": "other"}, "gpt-4o"),
        ({"llm.model_name": "claude-sonnet-4"}, "claude-sonnet-4"),
        ({"embedding.model_name": "text-embedding-3-small"}, "text-embedding-3-small"),
        ({"gen_ai.request.model": 4}, ""),
        ({}, ""),
    ],
)
def test_model_keys_in_order_of_preference(attributes: dict[str, Any], model: str) -> None:
    assert _map(attributes).model == model


@pytest.mark.parametrize(
    ("attributes", "provider"),
    [
        ({"gen_ai.provider.name": "openai", "gen_ai.system": "legacy"}, "openai"),
        ({"gen_ai.system": "anthropic"}, "anthropic"),
        ({"llm.provider": "azure", "llm.system": "openai"}, "azure"),
        ({"llm.system": "openai"}, "openai"),
    ],
)
def test_provider_keys_in_order_of_preference(attributes: dict[str, Any], provider: str) -> None:
    assert _map(attributes).provider == provider


@pytest.mark.parametrize(
    ("attributes", "name", "tool", "category"),
    [
        ({"gen_ai.tool.name": "search", "tool.name": "other"}, "span", "search", "tool"),
        ({"tool.name": "calculator"}, "span", "calculator", "tool"),
        ({"gen_ai.operation.name": "execute_tool"}, "execute_tool get_weather", "get_weather", "tool"),
    ],
)
def test_tool_names(attributes: dict[str, Any], name: str, tool: str, category: str) -> None:
    meaning = _map(attributes, name=name)

    assert (meaning.tool_name, meaning.category) == (tool, category)


@pytest.mark.parametrize(
    ("attributes", "tokens"),
    [
        ({"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5}, (10, 5, 15)),
        ({"gen_ai.usage.prompt_tokens": 7, "gen_ai.usage.completion_tokens": 3}, (7, 3, 10)),
        ({"llm.token_count.prompt": 4, "llm.token_count.completion": 2, "llm.token_count.total": 9}, (4, 2, 9)),
        ({"gen_ai.usage.input_tokens": 1, "gen_ai.usage.total_tokens": 100}, (1, 0, 100)),
        ({"gen_ai.usage.input_tokens": "12", "gen_ai.usage.output_tokens": 2.9}, (12, 2, 14)),
        ({"gen_ai.usage.input_tokens": -5, "gen_ai.usage.output_tokens": True}, (0, 0, 0)),
    ],
)
def test_token_keys(attributes: dict[str, Any], tokens: tuple[int, int, int]) -> None:
    meaning = _map(attributes)

    assert (meaning.input_tokens, meaning.output_tokens, meaning.total_tokens) == tokens


def test_a_model_with_tokens_and_no_operation_is_an_llm_call() -> None:
    assert _map({"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 3}).category == "llm"
    assert _map({"gen_ai.request.model": "gpt-4o"}).category == "other"


def test_adks_legacy_call_llm_wrapper_is_a_chain_step_not_a_second_llm_call() -> None:
    usage = {"gen_ai.request.model": "openai/gpt-4o-mini", "gen_ai.usage.input_tokens": 21}
    adk = {**usage, "gcp.vertex.agent.invocation_id": "e-1"}
    assert semconv.map_span("call_llm", adk, [], 0, "").category == "chain"
    assert semconv.map_span("call_llm", usage, [], 0, "").category == "llm"  # not ADK's
    assert semconv.map_span("generate_content openai/gpt-4o-mini", adk, [], 0, "").category == "llm"


@pytest.mark.parametrize(
    ("attributes", "cost"),
    [
        ({"tracefoundry.cost.usd": 0.25, "llm.cost.total": 9}, Decimal("0.25")),
        ({"llm.cost.total": "1.5"}, Decimal("1.5")),
        ({"llm.cost.prompt": 0.5, "llm.cost.completion": 0.25}, Decimal("0.75")),
        ({"llm.cost.completion": 2}, Decimal("2")),
        ({"tracefoundry.cost.usd": -1}, None),
        ({"tracefoundry.cost.usd": "NaN"}, None),
        ({"tracefoundry.cost.usd": True}, None),
        ({}, None),
    ],
)
def test_stated_costs(attributes: dict[str, Any], cost: Decimal | None) -> None:
    assert _map(attributes).stated_cost_usd == cost


@pytest.mark.parametrize(
    ("attributes", "events", "retries"),
    [
        ({}, [{"name": "tracefoundry.retry"}, {"name": "retry"}, {"name": "openai.retry"}], 3),
        ({"tracefoundry.retry.count": 2}, [{"name": "retry"}], 2),
        ({"http.request.resend_count": 1}, [], 1),
        ({"http.request.resend_count": 3}, [], 1),
        ({"http.request.resend_count": 0}, [], 0),
        ({"http.request.resend_count": 2, "tracefoundry.retry.count": 2}, [], 3),
        ({}, [{"name": "retrying"}], 0),
    ],
)
def test_retries(attributes: dict[str, Any], events: list[dict[str, Any]], retries: int) -> None:
    assert _map(attributes, events=events).retry_count == retries


@pytest.mark.parametrize(
    ("attributes", "events", "status", "timeout"),
    [
        ({"tracefoundry.timeout": True}, [], {}, True),
        ({"tracefoundry.timeout": "true"}, [], {}, False),
        ({"error.type": "httpx.ReadTimeout"}, [], {}, True),
        ({}, [{"name": "tracefoundry.timeout"}], {}, True),
        ({}, [{"name": "tool.timeout"}], {}, True),
        ({}, [{"name": "exception", "attributes": {"exception.type": "asyncio.TimeoutError"}}], {}, True),
        ({}, [{"name": "exception", "attributes": {"exception.type": "ValueError"}}], {}, False),
        ({}, [], {"code": 2, "message": "upstream timed out"}, True),
        ({}, [], {"code": 1, "message": "upstream timed out"}, False),
        ({}, [], {"code": 2, "message": "rate limited"}, False),
    ],
)
def test_timeouts(
    attributes: dict[str, Any], events: list[dict[str, Any]], status: dict[str, Any], timeout: bool
) -> None:
    assert _map(attributes, events=events, **status).is_timeout is timeout


@pytest.mark.parametrize(
    ("resource", "environment"),
    [
        ({"deployment.environment.name": "prod", "deployment.environment": "old"}, "prod"),
        ({"deployment.environment": "staging"}, "staging"),
        ({}, ""),
    ],
)
def test_environment_keys(resource: dict[str, Any], environment: str) -> None:
    assert semconv.environment_of(resource) == environment


def test_service_and_long_values_are_cut_to_their_columns() -> None:
    assert semconv.service_of({"service.name": "s" * 300}) == "s" * 255
    assert semconv.service_of({}) == ""
    assert _map({"gen_ai.operation.name": "o" * 100}).operation_name == "o" * 64

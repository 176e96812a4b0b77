"""Span names, attributes, events and roll-ups written by the SDK's helpers (in-memory exporter)."""

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import tracefoundry
from opentelemetry import trace
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode


def attrs(item: ReadableSpan | Event) -> dict[str, Any]:
    """A span's or event's attributes as a plain dict (the SDK types them as optional)."""
    return dict(item.attributes or {})


def named(spans: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {span.name: span for span in spans}


def test_agent_llm_and_tool_spans_carry_genai_attributes_and_roll_up(
    configured: Callable[..., tracefoundry.Client], exporter: InMemorySpanExporter
) -> None:

    configured(capture_payloads=False)
    with tracefoundry.trace_agent_run("support", run_id="run-1", conversation_id="conv-9", agent_id="a-1") as run:
        with tracefoundry.llm_call("gpt-4o-mini", provider="openai", temperature=0.1, max_tokens=256) as call:
            call.set_response(
                model="gpt-4o-mini-2024-07-18",
                response_id="resp_1",
                finish_reason="tool_calls",
                input_tokens=1200,
                output_tokens=80,
                cost_usd=0.00023,
            )
        with tracefoundry.tool_call("get_weather", call_id="call_7") as tool:
            tool.set_attribute("app.city", "Lyon")
        with tracefoundry.llm_call("claude-3-5-haiku", provider="anthropic") as call:
            call.set_response(finish_reason=["stop"], input_tokens=300, output_tokens=20, cost_usd=0.0003)
    spans = named(exporter.get_finished_spans())
    assert set(spans) == {
        "invoke_agent support",
        "chat gpt-4o-mini",
        "execute_tool get_weather",
        "chat claude-3-5-haiku",
    }
    root = spans["invoke_agent support"]
    assert root.parent is None
    assert root.kind == SpanKind.INTERNAL
    assert {
        k: attrs(root)[k]
        for k in (
            "gen_ai.operation.name",
            "gen_ai.agent.name",
            "gen_ai.agent.id",
            "tracefoundry.run.id",
            "gen_ai.conversation.id",
        )
    } == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "support",
        "gen_ai.agent.id": "a-1",
        "tracefoundry.run.id": "run-1",
        "gen_ai.conversation.id": "conv-9",
    }
    llm = spans["chat gpt-4o-mini"]
    assert llm.kind == SpanKind.CLIENT
    assert llm.parent is not None
    assert llm.parent.span_id == root.context.span_id
    assert attrs(llm) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.temperature": 0.1,
        "gen_ai.request.max_tokens": 256,
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.id": "resp_1",
        "gen_ai.response.finish_reasons": ("tool_calls",),
        "gen_ai.usage.input_tokens": 1200,
        "gen_ai.usage.output_tokens": 80,
        "tracefoundry.cost.usd": 0.00023,
    }
    tool_attributes = attrs(spans["execute_tool get_weather"])
    assert (
        tool_attributes["gen_ai.operation.name"],
        tool_attributes["gen_ai.tool.name"],
        tool_attributes["gen_ai.tool.call.id"],
        tool_attributes["gen_ai.tool.type"],
    ) == ("execute_tool", "get_weather", "call_7", "function")
    rollup = {
        k.removeprefix("tracefoundry.rollup."): v
        for k, v in attrs(root).items()
        if k.startswith("tracefoundry.rollup.")
    }
    assert rollup == {
        "input_tokens": 1500,
        "output_tokens": 100,
        "total_tokens": 1600,
        "cost_usd": 0.00053,
        "llm_calls": 2,
        "tool_calls": 1,
        "retries": 0,
        "timeouts": 0,
        "errors": 0,
    }
    assert not any(key.startswith("gen_ai.usage.") for key in attrs(root))
    assert run.trace_id == format(root.context.trace_id, "032x")
    assert attrs(spans["chat claude-3-5-haiku"])["gen_ai.response.finish_reasons"] == ("stop",)


def test_errors_set_status_error_type_and_a_redacted_exception_event(
    configured: Callable[..., tracefoundry.Client], exporter: InMemorySpanExporter
) -> None:
    configured(capture_payloads=False)
    secret = "sk-proj-" + "Q" * 30
    with (
        pytest.raises(ConnectionError),
        tracefoundry.trace_agent_run("support"),
        tracefoundry.llm_call("gpt-4o-mini"),
    ):
        raise ConnectionError(f"provider refused key {secret}")
    spans = named(exporter.get_finished_spans())
    for name in ("chat gpt-4o-mini", "invoke_agent support"):
        span = spans[name]
        assert span.status.status_code == StatusCode.ERROR
        assert span.status.description == "ConnectionError: provider refused key [REDACTED:openai_api_key]"
        assert attrs(span)["error.type"] == "ConnectionError"
        [event] = [event for event in span.events if event.name == "exception"]
        assert attrs(event)["exception.type"] == "ConnectionError"
        assert attrs(event)["exception.message"] == "provider refused key [REDACTED:openai_api_key]"
        assert secret not in attrs(event)["exception.stacktrace"]
    assert attrs(spans["invoke_agent support"])["tracefoundry.rollup.errors"] == 2


def test_retries_and_timeouts_are_events_with_counts_on_the_span(
    configured: Callable[..., tracefoundry.Client], exporter: InMemorySpanExporter
) -> None:
    configured(capture_payloads=False)
    with tracefoundry.trace_agent_run("support"):
        with tracefoundry.llm_call("gpt-4o-mini", start_time=1_000) as call:
            call.record_retry(2, 0.5, "HTTP 429", timestamp=2_000)
            tracefoundry.record_retry(3, 1.0, "HTTP 429", timestamp=3_000)
            call.end_time = 4_000
        with pytest.raises(TimeoutError), tracefoundry.tool_call("slow_db"):
            raise TimeoutError("db did not answer")
        with tracefoundry.tool_call("search") as tool:
            tool.record_timeout(5.0, "first mirror too slow", attempt=1)
            tool.record_retry(2, 0.0, "switching mirror")
    spans = named(exporter.get_finished_spans())
    llm = spans["chat gpt-4o-mini"]
    assert [(e.name, attrs(e), e.timestamp) for e in llm.events] == [
        (
            "tracefoundry.retry",
            {
                "tracefoundry.retry.attempt": 2,
                "tracefoundry.retry.delay_s": 0.5,
                "tracefoundry.retry.reason": "HTTP 429",
            },
            2_000,
        ),
        (
            "tracefoundry.retry",
            {
                "tracefoundry.retry.attempt": 3,
                "tracefoundry.retry.delay_s": 1.0,
                "tracefoundry.retry.reason": "HTTP 429",
            },
            3_000,
        ),
    ]
    assert attrs(llm)["tracefoundry.retry.count"] == 2
    assert (llm.start_time, llm.end_time) == (1_000, 4_000)
    db = spans["execute_tool slow_db"]
    assert [e.name for e in db.events] == ["exception", "tracefoundry.timeout"]
    assert (attrs(db)["tracefoundry.timeout"], attrs(db)["tracefoundry.timeout.count"]) == (True, 1)
    assert db.status.status_code == StatusCode.ERROR
    search = spans["execute_tool search"]
    assert [e.name for e in search.events] == ["tracefoundry.timeout", "tracefoundry.retry"]
    assert attrs(search.events[0]) == {
        "tracefoundry.timeout.reason": "first mirror too slow",
        "tracefoundry.timeout.after_s": 5.0,
        "tracefoundry.timeout.attempt": 1,
    }
    assert search.status.status_code == StatusCode.UNSET
    root = spans["invoke_agent support"]
    assert (
        attrs(root)["tracefoundry.rollup.retries"],
        attrs(root)["tracefoundry.rollup.timeouts"],
        attrs(root)["tracefoundry.rollup.errors"],
    ) == (3, 2, 1)


def test_decorators_work_on_sync_and_async_functions(
    configured: Callable[..., tracefoundry.Client], exporter: InMemorySpanExporter
) -> None:
    configured(capture_payloads=False)

    @tracefoundry.tool_call("add")
    def add(a: int, b: int = 2) -> int:
        return a + b

    @tracefoundry.tool_call("fetch")
    async def fetch(url: str) -> str:
        await asyncio.sleep(0)
        return f"body of {url}"

    @tracefoundry.trace_agent_run("async-agent")
    async def agent() -> list[object]:
        async with tracefoundry.llm_call("gpt-4o-mini") as call:
            call.set_response(input_tokens=10, output_tokens=5)
        first, second = await asyncio.gather(fetch("a"), fetch("b"))
        return [add(1), first, second]

    assert asyncio.run(agent()) == [3, "body of a", "body of b"]
    assert add(5, b=5) == 10
    spans = exporter.get_finished_spans()
    roots = [s for s in spans if s.parent is None]
    assert sorted(s.name for s in roots) == ["execute_tool add", "invoke_agent async-agent"]
    agent_span = next(s for s in roots if s.name == "invoke_agent async-agent")
    children = [s for s in spans if s.parent is not None and s.parent.span_id == agent_span.context.span_id]
    assert sorted(s.name for s in children) == [
        "chat gpt-4o-mini",
        "execute_tool add",
        "execute_tool fetch",
        "execute_tool fetch",
    ]
    assert attrs(agent_span)["tracefoundry.rollup.tool_calls"] == 3
    assert attrs(agent_span)["tracefoundry.rollup.total_tokens"] == 15
    # Capture is off: hashes and sizes of the arguments and results only.
    fetch_span = next(s for s in children if s.name == "execute_tool fetch")
    assert attrs(fetch_span)["tracefoundry.payload_hash.tool_args"].startswith("sha256:")
    assert attrs(fetch_span)["tracefoundry.payload.tool_result_size"] == len("body of a")
    assert not any(key.endswith("_ref") for key in attrs(fetch_span))


def test_works_beside_an_existing_global_tracer_provider(
    configured: Callable[..., tracefoundry.Client], exporter: InMemorySpanExporter
) -> None:
    app_exporter = InMemorySpanExporter()
    app_provider = TracerProvider()
    app_provider.add_span_processor(SimpleSpanProcessor(app_exporter))
    configured(capture_payloads=False)
    app_tracer = app_provider.get_tracer("web-app")
    with (
        app_tracer.start_as_current_span("POST /ask") as request_span,
        tracefoundry.trace_agent_run("support"),
        app_tracer.start_as_current_span("db query"),
    ):
        pass
    [agent] = exporter.get_finished_spans()
    app_spans = named(app_exporter.get_finished_spans())
    assert agent.context.trace_id == request_span.get_span_context().trace_id
    assert agent.parent is not None
    assert agent.parent.span_id == request_span.get_span_context().span_id
    db_parent, client = app_spans["db query"].parent, tracefoundry.current_client()
    assert db_parent is not None
    assert db_parent.span_id == agent.context.span_id
    assert client is not None
    assert trace.get_tracer_provider() is not client.provider


def test_without_configure_helpers_still_run_and_record_nothing_harmful() -> None:
    tracefoundry.shutdown()
    with tracefoundry.trace_agent_run("bare", input="hello there") as run, tracefoundry.llm_call("m") as call:
        call.set_response("answer", input_tokens=1, output_tokens=1)
    assert run.input_tokens == 1
    assert tracefoundry.payload_stats() == tracefoundry.UploadStats()


def test_seeded_ids_repeat_and_unseeded_ids_do_not(
    configured: Callable[..., tracefoundry.Client], exporter: InMemorySpanExporter
) -> None:
    configured(capture_payloads=False)
    for _ in range(2):
        with (
            tracefoundry.seeded_ids("seed-1"),
            tracefoundry.trace_agent_run("a"),
            tracefoundry.tool_call("t"),
        ):
            pass
    with tracefoundry.trace_agent_run("a"):
        pass
    spans = exporter.get_finished_spans()
    ids = [(s.context.trace_id, s.context.span_id) for s in spans]
    assert ids[0:2] == ids[2:4]
    assert ids[4][0] != ids[0][0]

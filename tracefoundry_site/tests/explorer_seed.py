"""OTLP traces for the explorer's browser tests: a few agent runs with LLM calls, tools, retries, a timeout,
an exception and chat payloads, and one 10,000-span trace. Built as protobuf ExportTraceServiceRequests."""

import json
import time
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

MS = 1_000_000


def _value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    return AnyValue(string_value=str(value))


def _attributes(values: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=_value(v)) for k, v in values.items()]


@dataclass
class SpanSpec:
    span_id: str
    parent: str
    name: str
    start_ms: float
    duration_ms: float
    attributes: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    events: list[tuple[str, float, dict[str, Any]]] = field(default_factory=list)


def request_for(trace_id: str, service: str, environment: str, spans: list[SpanSpec], base_ns: int) -> bytes:
    pb_spans = []
    for spec in spans:
        span = Span(
            trace_id=bytes.fromhex(trace_id),
            span_id=bytes.fromhex(spec.span_id),
            parent_span_id=bytes.fromhex(spec.parent) if spec.parent else b"",
            name=spec.name,
            kind=Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=base_ns + int(spec.start_ms * MS),
            end_time_unix_nano=base_ns + int((spec.start_ms + spec.duration_ms) * MS),
            attributes=_attributes(spec.attributes),
            status=Status(code=Status.STATUS_CODE_ERROR, message=spec.error)
            if spec.error
            else Status(code=Status.STATUS_CODE_OK),
        )
        for name, at_ms, attrs in spec.events:
            span.events.add(time_unix_nano=base_ns + int(at_ms * MS), name=name, attributes=_attributes(attrs))
        pb_spans.append(span)
    resource = {"service.name": service, "deployment.environment.name": environment}
    request = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=_attributes(resource)),
                scope_spans=[ScopeSpans(scope=InstrumentationScope(name="explorer-e2e", version="1"), spans=pb_spans)],
            )
        ]
    )
    return request.SerializeToString()


def _llm(span_id: str, parent: str, start: float, duration: float, model: str, question: str, **extra: Any) -> SpanSpec:
    messages = [
        {"role": "system", "parts": [{"type": "text", "content": "You are a careful support agent."}]},
        {"role": "user", "parts": [{"type": "text", "content": question}]},
    ]
    answer = [{"role": "assistant", "parts": [{"type": "text", "content": f"Answer about: {question}"}]}]
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": model,
        "gen_ai.provider.name": "openai" if model.startswith("gpt") else "anthropic",
        "gen_ai.usage.input_tokens": 1200,
        "gen_ai.usage.output_tokens": 300,
        "gen_ai.input.messages": json.dumps(messages),
        "gen_ai.output.messages": json.dumps(answer),
    }
    return SpanSpec(span_id, parent, f"chat {model}", start, duration, attributes, **extra)


def _tool(span_id: str, parent: str, start: float, duration: float, tool: str, **extra: Any) -> SpanSpec:
    attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool}
    return SpanSpec(span_id, parent, f"execute_tool {tool}", start, duration, attributes, **extra)


def _agent(span_id: str, name: str, duration: float) -> SpanSpec:
    return SpanSpec(
        span_id, "", name, 0, duration, {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": name}
    )


@dataclass(frozen=True)
class Seeded:
    refund_trace: str  # error, gpt-4o, slowest
    faq_trace: str  # ok, gpt-4o
    billing_trace: str  # ok, claude
    llm_span: str  # the refund trace's first LLM call, with chat payloads
    question: str


REFUND_TRACE = "a1" * 16
FAQ_TRACE = "b2" * 16
BILLING_TRACE = "c3" * 16
QUESTION = "Where is my refund for order 4417?"


def demo_requests(now_ns: int | None = None) -> list[bytes]:
    base = (now_ns or time.time_ns()) - 60_000 * MS  # a minute ago
    stack = 'Traceback (most recent call last):\n  File "agent.py", line 42, in call_llm\nTimeoutError: read timed out'
    refund = [
        _agent("1000000000000001", "refund-agent", 4200),
        _llm("1000000000000002", "1000000000000001", 10, 900, "gpt-4o", QUESTION),
        _tool(
            "1000000000000003",
            "1000000000000001",
            950,
            1200,
            "search_orders",
            events=[
                ("tracefoundry.retry", 1500, {"attempt": 1}),
                ("tracefoundry.retry", 1900, {"attempt": 2}),
            ],
        ),
        _llm(
            "1000000000000004",
            "1000000000000001",
            2200,
            2000,
            "gpt-4o",
            "Summarise the order history",
            error="TimeoutError: read timed out",
            events=[
                (
                    "exception",
                    4190,
                    {
                        "exception.type": "TimeoutError",
                        "exception.message": "read timed out",
                        "exception.stacktrace": stack,
                    },
                )
            ],
        ),
        # The parent of this span was never received: the explorer shows it as an orphan.
        _tool("1000000000000005", "10000000000000ff", 3000, 300, "notify_customer"),
    ]
    faq = [
        _agent("2000000000000001", "faq-agent", 2500),
        _llm("2000000000000002", "2000000000000001", 20, 2000, "gpt-4o", "What are your opening hours?"),
    ]
    billing = [
        _agent("3000000000000001", "billing-agent", 800),
        _llm("3000000000000002", "3000000000000001", 10, 600, "claude-3-5-sonnet", "Explain invoice 88"),
        _tool("3000000000000003", "3000000000000001", 650, 100, "fetch_invoice"),
    ]
    return [
        request_for(REFUND_TRACE, "support-bot", "production", refund, base),
        request_for(FAQ_TRACE, "support-bot", "production", faq, base + 1000 * MS),
        request_for(BILLING_TRACE, "billing-bot", "staging", billing, base + 2000 * MS),
    ]


SEEDED = Seeded(REFUND_TRACE, FAQ_TRACE, BILLING_TRACE, "1000000000000002", QUESTION)

BIG_TRACE = "d4" * 16


def big_trace_request(steps: int = 100, per_step: int = 100) -> bytes:
    """A root agent, `steps` LLM steps, each with `per_step - 1` tool calls: 1 + steps * per_step spans."""
    spans = [_agent("4" + "0" * 15, "long-running-agent", steps * 50 + 10)]
    for step in range(steps):
        step_id = f"5{step:015x}"
        spans.append(
            SpanSpec(
                step_id,
                spans[0].span_id,
                f"step {step}",
                step * 50,
                48,
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.usage.input_tokens": 10,
                    "gen_ai.usage.output_tokens": 5,
                },
            )
        )
        for call in range(per_step - 1):
            spans.append(_tool(f"6{step:07x}{call:08x}", step_id, step * 50 + call * 0.45, 0.4, f"tool_{call % 7}"))
    return request_for(BIG_TRACE, "load-test", "perf", spans, time.time_ns() - 30_000 * MS)


EXPIRED_TRACE = "e5" * 16  # started past RETENTION_PAYLOAD_DAYS: retention deletes its payloads
MISSING_TRACE = "f6" * 16  # recent, names a payload its SDK never uploaded
UNSTORED_REF = "sha256:" + "0f" * 32
DAY_NS = 86_400 * 1_000_000_000


def payload_retention_requests(payload_days: float, now_ns: int | None = None) -> list[bytes]:
    """A trace older than the payload retention, with chat payloads, and a recent one whose LLM span declares
    a ref (`tracefoundry.payload.input_messages_ref`) whose content never reached the server."""
    now = now_ns or time.time_ns()
    expired = [
        _agent("7000000000000001", "archived-agent", 1200),
        _llm("7000000000000002", "7000000000000001", 10, 900, "gpt-4o", "An old question"),
    ]
    declared = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o",
        "tracefoundry.payload.input_messages_ref": UNSTORED_REF,
    }
    missing = [
        _agent("8000000000000001", "sdk-agent", 600),
        SpanSpec("8000000000000002", "8000000000000001", "chat gpt-4o", 10, 500, declared),
    ]
    return [
        request_for(EXPIRED_TRACE, "support-bot", "production", expired, now - int((payload_days + 1) * DAY_NS)),
        request_for(MISSING_TRACE, "support-bot", "production", missing, now - 60_000 * MS),
    ]


HUGE_TRACE = "a7" * 16


def huge_trace_rows(steps: int = 500, per_step: int = 200) -> list[dict[str, Any]]:
    """`spans` rows of a 1 + steps * per_step span trace (a root, LLM steps, tool calls under each step), for
    `traces.ingest.write_spans`: built directly, as decoding 100,000 OTLP spans would take most of the test."""
    base = time.time_ns() - 60_000 * MS
    common = dict(
        trace_id=HUGE_TRACE,
        kind=Span.SPAN_KIND_INTERNAL,
        service="load-test",
        environment="perf",
        status_code=0,
        status_message="",
        trace_state="",
        flags=0,
        resource_attributes={"service.name": "load-test"},
        events=[],
        links=[],
        scope={"name": "explorer-seed"},
        otlp_extra={},
        model="",
        provider="",
        tool_name="",
        input_tokens=0,
        output_tokens=0,
        total_tokens=0,
        cost_usd=0,
        retry_count=0,
        is_timeout=False,
    )

    def row(span_id: str, parent: str, name: str, category: str, start_ms: float, duration_ms: float, **extra: Any):
        start = base + int(start_ms * MS)
        operation = {"agent": "invoke_agent", "llm": "chat", "tool": "execute_tool"}[category]
        return {
            **common,
            "span_id": span_id,
            "parent_span_id": parent,
            "name": name,
            "category": category,
            "start_unix_nano": start,
            "end_unix_nano": start + int(duration_ms * MS),
            "duration_ns": int(duration_ms * MS),
            "operation_name": operation,
            "attributes": {"gen_ai.operation.name": operation},
            **extra,
        }

    root = "7" + "0" * 15
    rows = [row(root, "", "invoke_agent marathon", "agent", 0, steps * 50 + 10)]
    for step in range(steps):
        step_id = f"8{step:015x}"
        rows.append(row(step_id, root, f"step {step}", "llm", step * 50, 48, model="gpt-4o-mini"))
        for call in range(per_step - 1):
            tool = f"tool_{call % 7}"
            rows.append(
                row(f"9{step:07x}{call:08x}", step_id, f"execute_tool {tool}", "tool", step * 50 + call * 0.2, 0.15)
                | {"tool_name": tool}
            )
    return rows


CONVERSATION = "conv-4417"
CONVERSATION_USER = "customer-17"
CONVERSATION_TURNS = ("f1" * 16, "f2" * 16)
CONVERSATION_QUESTIONS = ("Where is order 4417?", "Can you refund it instead?")


def conversation_requests(now_ns: int | None = None) -> list[bytes]:
    """Two turns of one conversation (`session.id`) of one user (`user.id`), each a root agent span with its input
    and output payloads and one LLM call; the second turn retries a tool."""
    base = (now_ns or time.time_ns()) - 30_000 * MS
    requests = []
    for turn, (trace_id, question) in enumerate(zip(CONVERSATION_TURNS, CONVERSATION_QUESTIONS, strict=True)):
        root = f"a{turn:015x}"
        spans = [
            SpanSpec(
                root,
                "",
                "chat-agent",
                0,
                700,
                {
                    "gen_ai.operation.name": "invoke_agent",
                    "session.id": CONVERSATION,
                    "user.id": CONVERSATION_USER,
                    "input.value": question,
                    "output.value": f"Turn {turn + 1} answer: {question.lower()}",
                },
            ),
            _llm(f"b{turn:015x}", root, 5, 400, "gpt-4o-mini", question),
        ]
        if turn == 1:
            spans.append(
                _tool(
                    f"c{turn:015x}",
                    root,
                    450,
                    200,
                    "refund_order",
                    events=[("tracefoundry.retry", 500, {"reason": "rate limit exceeded"})],
                )
            )
        requests.append(request_for(trace_id, "chat-bot", "production", spans, base + turn * 5_000 * MS))
    return requests

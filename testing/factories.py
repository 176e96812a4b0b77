"""Builders of OTLP requests for tests: spans described as plain values, encoded as real protobuf messages."""

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from traces.otlp import python_to_any_value

_counter = itertools.count(1)
NOW_NS = time.time_ns()


def new_trace_id() -> str:
    return f"{next(_counter):032x}"[-32:].replace("0", "a", 1)


def new_span_id() -> str:
    return f"{next(_counter):016x}"[-16:].replace("0", "b", 1)


@dataclass
class SpanSpec:
    trace_id: str
    span_id: str
    name: str
    parent_span_id: str = ""
    start_ns: int = NOW_NS
    duration_ns: int = 1_000_000
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    status_code: int = 0
    status_message: str = ""
    kind: int = 1


def key_values(attributes: dict[str, Any]) -> list[KeyValue]:
    result = []
    for key, value in attributes.items():
        kv = KeyValue(key=key)
        json_format.ParseDict(python_to_any_value(value), kv.value)
        result.append(kv)
    return result


def export_request(
    spans: list[SpanSpec], service: str = "agent-svc", environment: str = "test", resource: dict | None = None
) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_attributes = {
        "service.name": service,
        "deployment.environment.name": environment,
        **(resource or {}),
    }
    resource_spans.resource.attributes.extend(key_values(resource_attributes))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "tests"
    scope_spans.scope.version = "1.0"
    for spec in spans:
        scope_spans.spans.append(pb_span(spec))
    return request


def pb_span(spec: SpanSpec) -> PbSpan:
    span = PbSpan(
        trace_id=bytes.fromhex(spec.trace_id),
        span_id=bytes.fromhex(spec.span_id),
        parent_span_id=bytes.fromhex(spec.parent_span_id) if spec.parent_span_id else b"",
        name=spec.name,
        kind=spec.kind,  # type: ignore[arg-type]
        start_time_unix_nano=spec.start_ns,
        end_time_unix_nano=spec.start_ns + spec.duration_ns,
    )
    span.attributes.extend(key_values(spec.attributes))
    span.status.code = spec.status_code  # type: ignore[assignment]
    span.status.message = spec.status_message
    for offset, (name, attributes) in enumerate(spec.events):
        event = span.events.add(name=name, time_unix_nano=spec.start_ns + offset)
        event.attributes.extend(key_values(attributes))
    return span


def agent_trace(trace_id: str | None = None, model: str = "gpt-4o", tool: str = "search") -> list[SpanSpec]:
    """A small agent run: root agent span, an LLM call, a tool call with one retry, a failing LLM call."""
    trace_id = trace_id or new_trace_id()
    root, llm, tool_span, failed = (new_span_id() for _ in range(4))
    return [
        SpanSpec(
            trace_id,
            root,
            "invoke_agent planner",
            duration_ns=900_000_000,
            attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"},
        ),
        SpanSpec(
            trace_id,
            llm,
            f"chat {model}",
            root,
            NOW_NS + 1_000_000,
            300_000_000,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": model,
                "gen_ai.provider.name": "openai",
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 200,
            },
        ),
        SpanSpec(
            trace_id,
            tool_span,
            f"execute_tool {tool}",
            root,
            NOW_NS + 400_000_000,
            200_000_000,
            attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool},
            events=[("tracefoundry.retry", {"tracefoundry.retry.attempt": 1})],
        ),
        SpanSpec(
            trace_id,
            failed,
            "chat claude-sonnet-4",
            root,
            NOW_NS + 650_000_000,
            100_000_000,
            attributes={
                "llm.model_name": "claude-sonnet-4",
                "openinference.span.kind": "LLM",
                "llm.token_count.prompt": 10,
                "llm.token_count.completion": 0,
                "error.type": "httpx.ReadTimeout",
            },
            status_code=2,
            status_message="upstream timed out",
        ),
    ]


@dataclass
class LogSpec:
    """A log record; empty ids mean no span context. `event_name` goes in the record's field, or, with
    `name_as_attribute`, in the `event.name` attribute (as older SDKs send it)."""

    trace_id: str
    span_id: str
    event_name: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    time_ns: int = NOW_NS
    severity_text: str = ""
    name_as_attribute: bool = False


def logs_request(records: list[LogSpec], service: str = "agent-svc") -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.extend(key_values({"service.name": service}))
    scope_logs = resource_logs.scope_logs.add()
    scope_logs.scope.name = "tests"
    for spec in records:
        record = LogRecord(
            time_unix_nano=spec.time_ns,
            trace_id=bytes.fromhex(spec.trace_id),
            span_id=bytes.fromhex(spec.span_id),
            severity_text=spec.severity_text,
        )
        attributes = dict(spec.attributes)
        if spec.name_as_attribute:
            attributes["event.name"] = spec.event_name
        else:
            record.event_name = spec.event_name
        record.attributes.extend(key_values(attributes))
        if spec.body is not None:
            json_format.ParseDict(python_to_any_value(spec.body), record.body)
        scope_logs.log_records.append(record)
    return request

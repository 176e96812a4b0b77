"""TraceFoundry SDK: OpenTelemetry tracing for LLM agents with redacted payload capture.

import tracefoundry
tracefoundry.configure(service_name="support-bot")
with tracefoundry.trace_agent_run("support", input=question) as run:
    with tracefoundry.llm_call("gpt-4o-mini", provider="openai", messages=messages) as call:
        call.set_response(answer, input_tokens=812, output_tokens=64, finish_reason="stop")
    run.record_output(answer)
"""

from tracefoundry.client import Client, configure, current_client, flush, payload_stats, shutdown
from tracefoundry.config import ConfigurationError
from tracefoundry.ids import seeded_ids
from tracefoundry.payloads import CapturedPayload, UploadStats
from tracefoundry.spans import (
    AgentRun,
    LlmCall,
    SpanScope,
    ToolCall,
    current_run,
    current_scope,
    llm_call,
    record_retry,
    record_timeout,
    tool_call,
    trace_agent_run,
)
from tracefoundry.version import __version__

__all__ = [
    "AgentRun",
    "CapturedPayload",
    "Client",
    "ConfigurationError",
    "LlmCall",
    "SpanScope",
    "ToolCall",
    "UploadStats",
    "__version__",
    "configure",
    "current_client",
    "current_run",
    "current_scope",
    "flush",
    "llm_call",
    "payload_stats",
    "record_retry",
    "record_timeout",
    "seeded_ids",
    "shutdown",
    "tool_call",
    "trace_agent_run",
]

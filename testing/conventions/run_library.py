"""Drive one real LLM client library against the OpenAI-compatible test server and export its telemetry.

Run in its own process (most libraries install a global tracer provider, once per process):

    python run_library.py LIBRARY LLM_BASE_URL MARKER

The spans go where the standard OpenTelemetry variables say (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
`OTEL_EXPORTER_OTLP_TRACES_HEADERS`, and `..._LOGS_...` for log records); the Langfuse SDK posts to
`LANGFUSE_HOST` unless `LANGFUSE_VIA_OTLP=1` hands it the standard exporter instead. Every text the library
can capture carries MARKER: `prompt-<m>` in prompts, `sysprompt-<m>` in system prompts, `toolarg-<m>` in the
tool arguments the server asks for, `toolresult-<m>` in tool results, `completion-<m>` in completions,
`embedtext-<m>` in embedding input and `doc-<m>` in retrieved documents. Each run also makes one call that
fails (model `error-model`).
"""

import contextlib
import json
import os
import sys
from collections.abc import Callable
from typing import Any

LIBRARIES: dict[str, Callable[[str, str], None]] = {}
TOOL_NAME = "lookup_order"
API_KEY = "test-key-for-the-local-server"
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": TOOL_NAME,
            "description": "Look up an order",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
        },
    }
]


def library(name: str) -> Callable[[Callable[[str, str], None]], Callable[[str, str], None]]:
    def register(function: Callable[[str, str], None]) -> Callable[[str, str], None]:
        LIBRARIES[name] = function
        return function

    return register


def tracer_provider(service: str) -> Any:
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def logger_provider(service: str) -> Any:
    from opentelemetry._logs import set_logger_provider
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    provider = LoggerProvider(resource=Resource.create({"service.name": service}))
    provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
    set_logger_provider(provider)
    return provider


def openai_conversation(base_url: str, marker: str) -> None:
    """Chat with a tool call and its result, a streamed chat, embeddings and one failing call."""
    import openai

    client = openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0)
    messages: list[Any] = [
        {"role": "system", "content": f"sysprompt-{marker}"},
        {"role": "user", "content": f"prompt-{marker} where is my order?"},
    ]
    first = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": f"toolresult-{marker}"},
    ]
    client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": f"prompt-{marker} streamed"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for _chunk in stream:
        pass
    client.embeddings.create(model="text-embedding-3-small", input=[f"embedtext-{marker}"])
    with contextlib.suppress(openai.BadRequestError):
        client.chat.completions.create(
            model="error-model", messages=[{"role": "user", "content": f"prompt-{marker} fails"}]
        )


@library("otel-genai-span")
def otel_genai_span(base_url: str, marker: str) -> None:
    """opentelemetry-instrumentation-openai-v2, latest conventions, content on the span."""
    os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
    os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "span_only"
    _otel_genai(base_url, marker, "otel-genai-span")


@library("otel-genai-event")
def otel_genai_event(base_url: str, marker: str) -> None:
    """opentelemetry-instrumentation-openai-v2, latest conventions, content only in log records."""
    os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
    os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "event_only"
    os.environ["OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT"] = "true"
    _otel_genai(base_url, marker, "otel-genai-event")


@library("otel-genai-legacy")
def otel_genai_legacy(base_url: str, marker: str) -> None:
    """opentelemetry-instrumentation-openai-v2 on its default (v1.30) conventions: per-message events."""
    os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "true"
    _otel_genai(base_url, marker, "otel-genai-legacy")


def _otel_genai(base_url: str, marker: str, service: str) -> None:
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    provider = tracer_provider(service)
    logs = logger_provider(service)
    OpenAIInstrumentor().instrument()
    openai_conversation(base_url, marker)
    provider.shutdown()
    logs.shutdown()


@library("openinference-openai")
def openinference_openai(base_url: str, marker: str) -> None:
    from openinference.instrumentation.openai import OpenAIInstrumentor

    provider = tracer_provider("openinference-openai")
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    openai_conversation(base_url, marker)
    provider.shutdown()


@library("openllmetry")
def openllmetry(base_url: str, marker: str) -> None:
    """Traceloop's opentelemetry-instrumentation-openai (OpenLLMetry), with content tracing on (its default)."""
    os.environ["TRACELOOP_TRACE_CONTENT"] = "true"
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    provider = tracer_provider("openllmetry")
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    openai_conversation(base_url, marker)
    provider.shutdown()


@library("openinference-langchain")
def openinference_langchain(base_url: str, marker: str) -> None:
    import openai
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.messages import ToolMessage
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.retrievers import BaseRetriever
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI, OpenAIEmbeddings
    from openinference.instrumentation.langchain import LangChainInstrumentor

    provider = tracer_provider("openinference-langchain")
    LangChainInstrumentor().instrument(tracer_provider=provider)

    @tool
    def lookup_order(query: str) -> str:
        """Look up an order."""
        return f"toolresult-{marker}"

    class Documents(BaseRetriever):
        def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
            return [Document(page_content=f"doc-{marker} order shipped", metadata={"source": "orders"})]

    Documents().invoke(f"prompt-{marker} order")
    llm = ChatOpenAI(model="gpt-4o-mini", base_url=base_url, api_key=API_KEY, max_retries=0)  # type: ignore[arg-type]
    prompt = ChatPromptTemplate.from_messages(
        [("system", "sysprompt-{marker}"), ("user", "prompt-{marker} {question}")]
    )
    chain = prompt | llm.bind_tools([lookup_order])
    first = chain.invoke({"marker": marker, "question": "where is my order?"})
    call = first.tool_calls[0]
    result = lookup_order.invoke(call)
    messages = [*prompt.invoke({"marker": marker, "question": "where is my order?"}).to_messages(), first, result]
    assert isinstance(result, ToolMessage)
    llm.bind_tools([lookup_order]).invoke(messages)
    OpenAIEmbeddings(
        model="text-embedding-3-small",
        base_url=base_url,
        api_key=API_KEY,  # type: ignore[arg-type]
        check_embedding_ctx_length=False,
    ).embed_documents([f"embedtext-{marker}"])
    failing = ChatOpenAI(model="error-model", base_url=base_url, api_key=API_KEY, max_retries=0)  # type: ignore[arg-type]
    with contextlib.suppress(openai.BadRequestError):
        failing.invoke(f"prompt-{marker} fails")
    provider.shutdown()


@library("langfuse")
def langfuse_sdk(base_url: str, marker: str) -> None:
    """The Langfuse Python SDK: its OpenAI drop-in and an observed function with a user and a session."""
    from langfuse import Langfuse, observe, propagate_attributes

    exporter = None
    if os.environ.get("LANGFUSE_VIA_OTLP") == "1":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    client = Langfuse(
        public_key="pk-lf-local",
        secret_key=os.environ.get("LANGFUSE_SECRET_KEY", "sk-lf-local"),
        host=os.environ.get("LANGFUSE_HOST", "http://127.0.0.1:1"),
        span_exporter=exporter,
    )
    from langfuse.openai import openai as lf_openai

    @observe(name="support-agent")
    def agent() -> str:
        with propagate_attributes(user_id="user-live-1", session_id="session-live-1"):
            lf_client = lf_openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0)
            messages: list[Any] = [
                {"role": "system", "content": f"sysprompt-{marker}"},
                {"role": "user", "content": f"prompt-{marker} where is my order?"},
            ]
            first: Any = lf_client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
            call = first.choices[0].message.tool_calls[0]
            with client.start_as_current_observation(
                name=TOOL_NAME, as_type="tool", input=call.function.arguments
            ) as t:
                t.update(output=f"toolresult-{marker}")
            messages += [
                first.choices[0].message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call.id, "content": f"toolresult-{marker}"},
            ]
            second = lf_client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
            lf_client.embeddings.create(model="text-embedding-3-small", input=[f"embedtext-{marker}"])
            with contextlib.suppress(lf_openai.BadRequestError):
                lf_client.chat.completions.create(
                    model="error-model", messages=[{"role": "user", "content": f"prompt-{marker} fails"}]
                )
            return str(second.choices[0].message.content)

    agent()
    client.flush()
    client.shutdown()


@library("mlflow")
def mlflow_tracing(base_url: str, marker: str) -> None:
    """mlflow-tracing's OpenAI autolog, exporting over OTLP (the OTEL_EXPORTER_OTLP_* variables)."""
    os.environ.setdefault("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")
    os.environ["OTEL_SERVICE_NAME"] = "mlflow"
    import mlflow

    mlflow.openai.autolog()
    openai_conversation(base_url, marker)
    mlflow.flush_trace_async_logging()
    from opentelemetry import trace

    provider = trace.get_tracer_provider()
    getattr(provider, "force_flush", lambda: None)()


@library("pydantic-ai")
def pydantic_ai(base_url: str, marker: str) -> None:
    """Pydantic AI's own OpenTelemetry instrumentation (content included), an agent with one tool."""
    from pydantic_ai import Agent
    from pydantic_ai.capabilities.instrumentation import Instrumentation
    from pydantic_ai.exceptions import ModelHTTPError
    from pydantic_ai.models.instrumented import InstrumentationSettings
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    provider = tracer_provider("pydantic-ai")
    settings = InstrumentationSettings(tracer_provider=provider, include_content=True)
    model = OpenAIChatModel("gpt-4o-mini", provider=OpenAIProvider(base_url=base_url, api_key=API_KEY))
    agent = Agent(model, system_prompt=f"sysprompt-{marker}", capabilities=[Instrumentation(settings=settings)])

    @agent.tool_plain
    def lookup_order(query: str) -> str:
        """Look up an order."""
        return f"toolresult-{marker}"

    agent.run_sync(f"prompt-{marker} where is my order?")
    failing = Agent(
        OpenAIChatModel("error-model", provider=OpenAIProvider(base_url=base_url, api_key=API_KEY)),
        capabilities=[Instrumentation(settings=settings)],
    )
    with contextlib.suppress(ModelHTTPError):
        failing.run_sync(f"prompt-{marker} fails")
    provider.shutdown()


@library("logfire")
def logfire_openai(base_url: str, marker: str) -> None:
    """Pydantic Logfire's OpenAI instrumentation; Logfire exports to the OTEL_EXPORTER_OTLP_* endpoint itself."""
    import logfire

    logfire.configure(send_to_logfire=False, service_name="logfire", console=False)
    logfire.instrument_openai()
    openai_conversation(base_url, marker)
    logfire.force_flush()
    logfire.shutdown()


if __name__ == "__main__":
    name, llm_url, run_marker = sys.argv[1:4]
    LIBRARIES[name](llm_url, run_marker)
    print(json.dumps({"library": name, "marker": run_marker}))

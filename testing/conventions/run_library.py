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


@library("google-adk")
def google_adk(base_url: str, marker: str) -> None:
    """Google ADK: an agent with one tool on LiteLLM's OpenAI client (no Google service is reached), run as a
    user in a session, with content capture on (ADK's default captures none). Once on ADK's default telemetry
    schema (2: GenAI conventions, content on the spans and in `gen_ai.client.inference.operation.details` log
    records), once on the legacy schema 1 (`ADK_TELEMETRY_SCHEMA_VERSION_OPT_IN=1`, read per run: `call_llm`
    spans with `gcp.vertex.agent.llm_request`/`llm_response`/`tool_call_args`/`tool_response`, message log
    records), and a failing call. Its own venv (`testing/google_adk`): ADK pins an older opentelemetry-api."""
    os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_AND_EVENT"
    # LiteLLM would fetch its model price list from the network when imported.
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    import asyncio

    from google.adk.agents import Agent
    from google.adk.models.lite_llm import LiteLlm
    from google.adk.runners import Runner
    from google.adk.sessions import InMemorySessionService
    from google.genai import types

    provider = tracer_provider("google-adk")
    logs = logger_provider("google-adk")

    def lookup_order(query: str) -> str:
        """Look up an order."""
        return f"toolresult-{marker}"

    async def run(model: str, text: str) -> None:
        agent = Agent(
            name="support_agent",
            model=LiteLlm(model=f"openai/{model}", api_base=base_url, api_key=API_KEY),
            instruction=f"sysprompt-{marker}",
            tools=[lookup_order],
        )
        sessions = InMemorySessionService()
        runner = Runner(app_name="support", agent=agent, session_service=sessions)
        session = await sessions.create_session(app_name="support", user_id="user-live-1", session_id="session-live-1")
        message = types.Content(role="user", parts=[types.Part(text=text)])
        async for _event in runner.run_async(user_id=session.user_id, session_id=session.id, new_message=message):
            pass

    asyncio.run(run("gpt-4o-mini", f"prompt-{marker} where is my order?"))
    os.environ["ADK_TELEMETRY_SCHEMA_VERSION_OPT_IN"] = "1"
    asyncio.run(run("gpt-4o-mini", f"prompt-{marker} where is my order, again?"))
    del os.environ["ADK_TELEMETRY_SCHEMA_VERSION_OPT_IN"]
    with contextlib.suppress(Exception):  # LiteLLM's BadRequestError, which ADK passes on
        asyncio.run(run("error-model", f"prompt-{marker} fails"))
    provider.shutdown()
    logs.shutdown()


@library("traceloop-sdk")
def traceloop_sdk(base_url: str, marker: str) -> None:
    """traceloop-sdk (OpenLLMetry's SDK): `Traceloop.init` with its own exporter, `@workflow`, `@tool` and `@task`
    decorators (entity input and output) around the OpenAI conversation, a user and a session as association
    properties. Its own venv (`testing/traceloop`): it pins instrumentations this project's venv does not."""
    os.environ["TRACELOOP_METRICS_ENABLED"] = "false"  # TraceFoundry takes no OTLP metrics
    from traceloop.sdk import Traceloop
    from traceloop.sdk.decorators import task, tool, workflow

    endpoint = os.environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"].removesuffix("/v1/traces")
    header = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "").replace("%20", " ")
    name, _, value = header.partition("=")
    Traceloop.init(
        app_name="traceloop-sdk",
        api_endpoint=endpoint,
        headers={name: value} if name else {},
        disable_batch=True,
        telemetry_enabled=False,
    )
    Traceloop.set_association_properties({"user_id": "user-live-1", "session_id": "session-live-1"})

    @tool(name=TOOL_NAME)
    def lookup_order(query: str) -> str:
        return f"toolresult-{marker}"

    @task(name="answer")
    def answer(question: str) -> str:
        openai_conversation(base_url, marker)
        return f"completion-{marker} answered"

    @workflow(name="support_agent")
    def support_agent(question: str) -> str:
        lookup_order(f"toolarg-{marker}")
        return answer(question)

    support_agent(f"prompt-{marker} where is my order?")
    from opentelemetry import trace

    trace.get_tracer_provider().shutdown()  # type: ignore[attr-defined]  # the SDK's provider, set by init


if __name__ == "__main__":
    name, llm_url, run_marker = sys.argv[1:4]
    LIBRARIES[name](llm_url, run_marker)
    print(json.dumps({"library": name, "marker": run_marker}))

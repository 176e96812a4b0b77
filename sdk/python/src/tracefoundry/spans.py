"""Span helpers for agents: agent runs, LLM calls and tool calls, with retries, timeouts and roll-ups.

Each helper works as a context manager (`with`/`async with`) and as a decorator of sync or async
functions, and opens a real OpenTelemetry span carrying GenAI semantic-convention attributes
(`gen_ai.operation.name` = invoke_agent / chat / execute_tool, model, provider, token usage, finish reasons,
tool name and call id). Errors set the span status, `error.type` and an `exception` event (its message
redacted). Retries and timeouts become `tracefoundry.retry` / `tracefoundry.timeout` events plus counts on
the span. When an agent run ends, the tokens, cost and counts of everything under it are written on its span
as `tracefoundry.rollup.*` (not `gen_ai.usage.*`, which the server sums over LLM spans itself).

Content (prompts, completions, tool arguments and results) never goes into span attributes: it is captured
as a payload (see `payloads.py`) and the span gets `tracefoundry.payload.<role>_ref` and `_size`, or, with
capture off (or nowhere to store it), `tracefoundry.payload_hash.<role>` (`sha256:<hex>`) and `_size`.

Timestamps: `start_time=` and `handle.end_time` take Unix nanoseconds, for code that replays or simulates
work (the demo agent); by default the clock is used.
"""

import functools
import inspect
import logging
import re
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Generic, TypeVar, cast

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from tracefoundry.client import TRACER_NAME, current_client
from tracefoundry.ids import SeedableIdGenerator
from tracefoundry.payloads import CapturedPayload, PayloadCapture
from tracefoundry.redaction import build_redactor
from tracefoundry.version import __version__

logger = logging.getLogger("tracefoundry")
S = TypeVar("S", bound="SpanScope")
F = TypeVar("F", bound=Callable[..., Any])
_ROLE = re.compile(r"^[a-z][a-z0-9_]*$")
_current_scope: ContextVar["SpanScope | None"] = ContextVar("tracefoundry_scope", default=None)
_current_run: ContextVar["AgentRun | None"] = ContextVar("tracefoundry_run", default=None)
_fallback_capture: PayloadCapture | None = None
_silent_provider: TracerProvider | None = None


class SpanScope:
    """A live span opened by one of the helpers; what the `with` statement gives you."""

    def __init__(self, span: Span, capture: PayloadCapture) -> None:
        self.span = span
        self.end_time: int | None = None
        self.retry_count = 0
        self.timeout_count = 0
        self.failed = False
        self._capture = capture

    @property
    def trace_id(self) -> str:
        return format(self.span.get_span_context().trace_id, "032x")

    @property
    def span_id(self) -> str:
        return format(self.span.get_span_context().span_id, "016x")

    def set_attribute(self, key: str, value: Any) -> None:
        self.span.set_attribute(key, value)

    def capture(self, role: str, content: Any) -> CapturedPayload | None:
        """Redact, hash and store `content` as the payload `role` of this span. Never raises."""
        if not _ROLE.match(role):
            raise ValueError(f"payload role {role!r} must be lowercase letters, digits and underscores")
        try:
            payload = self._capture.record(content)
        except Exception:  # capture must never break the agent
            logger.exception("could not capture the %s payload", role)
            return None
        if payload.stored:
            self.span.set_attribute(f"tracefoundry.payload.{role}_ref", payload.ref)
        else:
            # Not `tracefoundry.payload.<role>_sha256`: the server's policy treats any other
            # `tracefoundry.payload.*` key as content to move to the payload store.
            self.span.set_attribute(f"tracefoundry.payload_hash.{role}", payload.ref)
        self.span.set_attribute(f"tracefoundry.payload.{role}_size", payload.size_bytes)
        return payload

    def record_retry(
        self,
        attempt: int | None = None,
        delay_s: float = 0.0,
        reason: str = "",
        *,
        timestamp: int | None = None,
    ) -> None:
        """One more attempt is about to be made (`attempt` = its number, 2 for the first retry)."""
        self.retry_count += 1
        self.span.add_event(
            "tracefoundry.retry",
            {
                "tracefoundry.retry.attempt": attempt if attempt is not None else self.retry_count + 1,
                "tracefoundry.retry.delay_s": float(delay_s),
                "tracefoundry.retry.reason": self._redact(reason),
            },
            timestamp=timestamp,
        )
        self.span.set_attribute("tracefoundry.retry.count", self.retry_count)

    def record_timeout(
        self,
        after_s: float | None = None,
        reason: str = "",
        *,
        attempt: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Something inside this span gave up waiting after `after_s` seconds."""
        self.timeout_count += 1
        attributes: dict[str, Any] = {"tracefoundry.timeout.reason": self._redact(reason)}
        if after_s is not None:
            attributes["tracefoundry.timeout.after_s"] = float(after_s)
        if attempt is not None:
            attributes["tracefoundry.timeout.attempt"] = attempt
        self.span.add_event("tracefoundry.timeout", attributes, timestamp=timestamp)
        self.span.set_attribute("tracefoundry.timeout", True)
        self.span.set_attribute("tracefoundry.timeout.count", self.timeout_count)

    def record_error(self, error: BaseException, *, timestamp: int | None = None) -> None:
        """Mark the span failed with an `exception` event; messages are redacted like payloads."""
        self.failed = True
        error_type = type(error).__qualname__
        message = self._redact(str(error))
        stack = self._redact("".join(traceback.format_exception(error)))
        self.span.add_event(
            "exception",
            {"exception.type": error_type, "exception.message": message, "exception.stacktrace": stack},
            timestamp=timestamp or self.end_time,
        )
        self.span.set_attribute("error.type", error_type)
        self.span.set_status(Status(StatusCode.ERROR, f"{error_type}: {message}" if message else error_type))
        if isinstance(error, TimeoutError) and self.timeout_count == 0:
            self.record_timeout(reason=message or error_type, timestamp=timestamp or self.end_time)

    def _redact(self, text: str) -> str:
        return self._capture.redactor.redact(text)[0]

    def _finish(self) -> None:
        run = _current_run.get()
        if run is not None and run is not self:
            run.add_counts(retries=self.retry_count, timeouts=self.timeout_count, errors=int(self.failed))


class AgentRun(SpanScope):
    """The root span of one agent run; collects the roll-up of everything under it."""

    def __init__(self, span: Span, capture: PayloadCapture) -> None:
        super().__init__(span, capture)
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost_usd = 0.0
        self.llm_calls = 0
        self.tool_calls = 0
        self.retries = 0
        self.timeouts = 0
        self.errors = 0

    def record_input(self, content: Any) -> CapturedPayload | None:
        return self.capture("input", content)

    def record_output(self, content: Any) -> CapturedPayload | None:
        return self.capture("output", content)

    def add_counts(self, **counts: float) -> None:
        for name, value in counts.items():
            setattr(self, name, getattr(self, name) + value)

    def _finish(self) -> None:
        self.add_counts(retries=self.retry_count, timeouts=self.timeout_count, errors=int(self.failed))
        rollup = {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.input_tokens + self.output_tokens,
            "cost_usd": round(self.cost_usd, 10),
            "llm_calls": self.llm_calls,
            "tool_calls": self.tool_calls,
            "retries": self.retries,
            "timeouts": self.timeouts,
            "errors": self.errors,
        }
        for name, value in rollup.items():
            self.span.set_attribute(f"tracefoundry.rollup.{name}", value)
        parent = _parent_run.get()
        if parent is not None:
            parent.add_counts(**{k: v for k, v in rollup.items() if k != "total_tokens"})


class LlmCall(SpanScope):
    """One model call; call `set_response` with what the model answered."""

    def record_input(self, messages: Any) -> CapturedPayload | None:
        return self.capture("input", messages)

    def set_response(
        self,
        output: Any = None,
        *,
        model: str | None = None,
        response_id: str | None = None,
        finish_reason: str | Sequence[str] | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cost_usd: float | None = None,
    ) -> None:
        if output is not None:
            self.capture("output", output)
        if model:
            self.span.set_attribute("gen_ai.response.model", model)
        if response_id:
            self.span.set_attribute("gen_ai.response.id", response_id)
        if finish_reason:
            reasons = [finish_reason] if isinstance(finish_reason, str) else list(finish_reason)
            self.span.set_attribute("gen_ai.response.finish_reasons", reasons)
        run = _current_run.get()
        if input_tokens is not None:
            self.span.set_attribute("gen_ai.usage.input_tokens", input_tokens)
        if output_tokens is not None:
            self.span.set_attribute("gen_ai.usage.output_tokens", output_tokens)
        if cost_usd is not None:
            self.span.set_attribute("tracefoundry.cost.usd", float(cost_usd))
        if run is not None:
            run.add_counts(input_tokens=input_tokens or 0, output_tokens=output_tokens or 0, cost_usd=cost_usd or 0.0)

    def _finish(self) -> None:
        super()._finish()
        run = _current_run.get()
        if run is not None:
            run.add_counts(llm_calls=1)


class ToolCall(SpanScope):
    """One tool execution; call `set_result` with what the tool returned."""

    def record_arguments(self, arguments: Any) -> CapturedPayload | None:
        return self.capture("tool_args", arguments)

    def set_result(self, result: Any) -> CapturedPayload | None:
        return self.capture("tool_result", result)

    def _finish(self) -> None:
        super()._finish()
        run = _current_run.get()
        if run is not None:
            run.add_counts(tool_calls=1)


_parent_run: ContextVar[AgentRun | None] = ContextVar("tracefoundry_parent_run", default=None)


class Instrument(Generic[S]):
    """A span to open: `with`, `async with`, or `@decorator` (each decorated call opens its own span)."""

    def __init__(
        self,
        opener: Callable[[], AbstractContextManager[S]],
        on_call: Callable[[S, Any, Any], None] | None = None,
    ) -> None:
        self._opener = opener
        self._on_call = on_call
        self._open: list[AbstractContextManager[S]] = []

    def __enter__(self) -> S:
        manager = self._opener()
        self._open.append(manager)
        return manager.__enter__()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        return self._open.pop().__exit__(exc_type, exc, tb)

    async def __aenter__(self) -> S:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        return self.__exit__(exc_type, exc, tb)

    def __call__(self, function: F) -> F:
        on_call = self._on_call
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self._opener() as scope:
                    if on_call:
                        on_call(scope, _bound_arguments(function, args, kwargs), None)
                    result = await function(*args, **kwargs)
                    if on_call:
                        on_call(scope, None, result)
                    return result

            return cast(F, async_wrapper)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._opener() as scope:
                if on_call:
                    on_call(scope, _bound_arguments(function, args, kwargs), None)
                result = function(*args, **kwargs)
                if on_call:
                    on_call(scope, None, result)
                return result

        return cast(F, wrapper)


def trace_agent_run(
    name: str,
    *,
    run_id: str | None = None,
    conversation_id: str | None = None,
    agent_id: str | None = None,
    input: Any = None,  # the natural name for what the agent was asked
    attributes: Mapping[str, Any] | None = None,
    start_time: int | None = None,
) -> Instrument[AgentRun]:
    """Open the root span of an agent run (`invoke_agent <name>`)."""

    def opener() -> AbstractContextManager[AgentRun]:
        span_attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": name,
            "tracefoundry.run.id": run_id or str(uuid.uuid4()),
            **(attributes or {}),
        }
        if conversation_id:
            span_attributes["gen_ai.conversation.id"] = conversation_id
        if agent_id:
            span_attributes["gen_ai.agent.id"] = agent_id
        return _open_span(
            AgentRun, f"invoke_agent {name}", SpanKind.INTERNAL, span_attributes, start_time, input, "input"
        )

    return Instrument(opener)


def llm_call(
    model: str,
    *,
    provider: str | None = None,
    operation: str = "chat",
    messages: Any = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    attributes: Mapping[str, Any] | None = None,
    start_time: int | None = None,
) -> Instrument[LlmCall]:
    """Open an LLM call span (`chat <model>`); `messages` is captured as the `input` payload."""

    def opener() -> AbstractContextManager[LlmCall]:
        span_attributes: dict[str, Any] = {"gen_ai.operation.name": operation, "gen_ai.request.model": model}
        if provider:
            span_attributes["gen_ai.provider.name"] = provider
        if temperature is not None:
            span_attributes["gen_ai.request.temperature"] = temperature
        if max_tokens is not None:
            span_attributes["gen_ai.request.max_tokens"] = max_tokens
        span_attributes.update(attributes or {})
        return _open_span(
            LlmCall, f"{operation} {model}", SpanKind.CLIENT, span_attributes, start_time, messages, "input"
        )

    return Instrument(opener)


def tool_call(
    name: str,
    *,
    call_id: str | None = None,
    arguments: Any = None,
    tool_type: str = "function",
    description: str | None = None,
    attributes: Mapping[str, Any] | None = None,
    start_time: int | None = None,
) -> Instrument[ToolCall]:
    """Open a tool call span (`execute_tool <name>`). As a decorator it captures arguments and result."""

    def opener() -> AbstractContextManager[ToolCall]:
        span_attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.type": tool_type,
        }
        if call_id:
            span_attributes["gen_ai.tool.call.id"] = call_id
        if description:
            span_attributes["gen_ai.tool.description"] = description
        span_attributes.update(attributes or {})
        return _open_span(
            ToolCall,
            f"execute_tool {name}",
            SpanKind.INTERNAL,
            span_attributes,
            start_time,
            arguments,
            "tool_args",
        )

    def on_call(scope: ToolCall, bound: Any, result: Any) -> None:
        if bound is not None:
            scope.record_arguments(bound)
        else:
            scope.set_result(result)

    return Instrument(opener, on_call)


def current_scope() -> SpanScope | None:
    """The innermost span opened by these helpers in this context."""
    return _current_scope.get()


def current_run() -> AgentRun | None:
    return _current_run.get()


def record_retry(
    attempt: int | None = None, delay_s: float = 0.0, reason: str = "", *, timestamp: int | None = None
) -> None:
    """Record a retry on the innermost helper span (nothing happens outside one)."""
    scope = _current_scope.get()
    if scope is not None:
        scope.record_retry(attempt, delay_s, reason, timestamp=timestamp)


def record_timeout(after_s: float | None = None, reason: str = "", *, timestamp: int | None = None) -> None:
    """Record a timeout on the innermost helper span (nothing happens outside one)."""
    scope = _current_scope.get()
    if scope is not None:
        scope.record_timeout(after_s, reason, timestamp=timestamp)


@contextmanager
def _open_span(
    scope_class: type[S],
    name: str,
    kind: SpanKind,
    attributes: dict[str, Any],
    start_time: int | None,
    content: Any,
    role: str,
) -> Iterator[S]:
    client = current_client()
    tracer = client.tracer if client else _tracer_without_client()
    capture = client.payloads if client else _capture_without_client()
    span = tracer.start_span(name, kind=kind, attributes=attributes, start_time=start_time or time.time_ns())
    context_token = otel_context.attach(trace.set_span_in_context(span))
    scope = scope_class(span, capture)
    scope_token = _current_scope.set(scope)
    run_tokens = None
    if isinstance(scope, AgentRun):
        run_tokens = (_parent_run.set(_current_run.get()), _current_run.set(scope))
    try:
        if content is not None:
            scope.capture(role, content)
        yield scope
    except Exception as error:
        scope.record_error(error)
        raise
    finally:
        try:
            scope._finish()
        finally:
            if run_tokens is not None:
                _current_run.reset(run_tokens[1])
                _parent_run.reset(run_tokens[0])
            _current_scope.reset(scope_token)
            otel_context.detach(context_token)
            span.end(end_time=scope.end_time)


def _tracer_without_client() -> trace.Tracer:
    # Not configured: the application's SDK provider if it set one globally; otherwise a provider that
    # exports nowhere, so spans still get real (and seedable) ids, e.g. for a dry replay of the demo agent.
    global _silent_provider
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        if _silent_provider is None:
            _silent_provider = TracerProvider(id_generator=SeedableIdGenerator(), shutdown_on_exit=False)
        provider = _silent_provider
    return provider.get_tracer(TRACER_NAME, __version__)


def _capture_without_client() -> PayloadCapture:
    # Not configured: record sizes and hashes (of the redacted text) only, under the default policy.
    global _fallback_capture
    if _fallback_capture is None:
        _fallback_capture = PayloadCapture(build_redactor("standard"), capture=False)
    return _fallback_capture


def _bound_arguments(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        bound = inspect.signature(function).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return {"args": list(args), "kwargs": kwargs}
    bound.apply_defaults()
    return {name: value for name, value in bound.arguments.items() if name not in ("self", "cls")}

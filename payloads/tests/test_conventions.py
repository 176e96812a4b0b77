"""Every content convention that real libraries emit is taken off the span, and the safety net catches the rest.

The golden files in `testing/conventions/golden/` are what each library's installed release sent to a
loopback OTLP receiver (`record_goldens.py`); every text the library could capture there carries the marker
`golden`. Here those spans go through capture, without a server (`traces/tests/test_semconv_goldens.py` maps
them, `traces/tests/test_conventions_live.py` sends them through a live server).
"""

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from payloads import refs
from payloads.capture import FREE_TEXT_ROLE, SpanCapture
from payloads.contracts import OtlpSpan, RedactionMode
from payloads.policy import PolicyError, load_policy, parse_policy
from payloads.redaction import Redactor, redactor_for
from testing.goldens import LIBRARIES, MARKED, MARKER, as_span, golden_spans, received

POLICY = Path(settings.TRACE_ALLOWLIST_FILE)


def visible(span: OtlpSpan) -> str:
    return json.dumps([span.name, span.status_message, span.attributes, span.events, span.resource_attributes])


def test_every_library_was_recorded() -> None:
    assert LIBRARIES == [
        "google-adk",
        "langfuse",
        "logfire",
        "mlflow",
        "openinference-langchain",
        "openinference-openai",
        "openllmetry",
        "otel-genai-event",
        "otel-genai-legacy",
        "otel-genai-span",
        "pydantic-ai",
        "traceloop-sdk",
        "vercel-ai",
    ]


# The official OpenTelemetry instrumentation puts no content on spans in event-only and legacy mode.
WITH_SPAN_CONTENT = [library for library in LIBRARIES if library not in ("otel-genai-event", "otel-genai-legacy")]


@pytest.mark.parametrize("mode", ["standard", "strict"])
@pytest.mark.parametrize("library", WITH_SPAN_CONTENT)
def test_no_content_stays_on_the_span_and_all_of_it_is_in_payloads(library: str, mode: str) -> None:
    capture = SpanCapture(redactor_for(mode))
    spans = golden_spans(library)
    originals_with_content = [span for span in spans if MARKER in json.dumps([span.attributes, span.events])]
    captured = [capture.capture(span) for span in spans]

    assert originals_with_content
    assert [MARKER in visible(result.span) for result in captured] == [False] * len(spans)
    for original, result in zip(spans, captured, strict=True):
        payload_text = b"".join(payload.content for payload in result.payloads).decode()
        assert set(MARKED.findall(json.dumps([original.attributes, original.events]))) <= set(
            MARKED.findall(payload_text)
        )


def test_the_safety_net_is_not_what_catches_the_recorded_libraries() -> None:
    """Every content key recorded is named by a payload rule: role `other` is for conventions nobody listed."""
    capture = SpanCapture(redactor_for("standard"))
    roles = {
        payload.role
        for library in LIBRARIES
        for span in golden_spans(library)
        for payload in capture.capture(span).payloads
    }
    assert FREE_TEXT_ROLE not in roles
    assert {"input", "output", "input_messages", "output_messages", "tool_args", "tool_result", "embeddings"} <= roles


def test_genai_log_records_attached_to_their_span_become_its_payload() -> None:
    """Event-only mode sends `gen_ai.client.inference.operation.details` log records; attached to their span
    as events (what the logs endpoint does), their messages are the span's payload, not event attributes."""
    records = [record for record in received("otel-genai-event") if record["signal"] == "log"]
    span = as_span(next(record for record in received("otel-genai-event") if record["signal"] == "span"), 0)
    events = [{"name": r["event_name"], "time_unix_nano": 1, "attributes": r["attributes"]} for r in records]
    captured = SpanCapture(redactor_for("standard")).capture(dataclasses.replace(span, events=events))

    assert len(records) == 4
    assert {record["event_name"] for record in records} == {"gen_ai.client.inference.operation.details"}
    assert MARKER not in visible(captured.span)
    assert [payload.role for payload in captured.payloads] == ["messages"]
    assert set(MARKED.findall(json.dumps(records))) == set(MARKED.findall(captured.payloads[0].content.decode()))
    assert captured.span.events[0]["attributes"]["gen_ai.usage.input_tokens"] == 21


LONG_TEXT = "Dear support, my order never arrived and I would like to know what happened to it. " * 3
STACK = 'Traceback (most recent call last):\n  File "agent.py", line 12, in run\n' * 6


def unknown_span(attributes: dict[str, Any], events: list[dict[str, Any]] | None = None) -> OtlpSpan:
    return OtlpSpan(
        "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "", "step", 1, 1, 2, 0, "", "", 0,
        attributes, {"service.name": "svc"}, events or [], [], {"name": "", "version": "", "attributes": {}},
    )  # fmt: skip


@pytest.mark.parametrize("mode", ["standard", "strict"])
def test_long_free_text_under_an_unknown_key_becomes_content(mode: str) -> None:
    span = unknown_span(
        {
            "newlib.user_question": LONG_TEXT,
            "newlib.history": [LONG_TEXT[:120], LONG_TEXT[:120]],
            "newlib.short_label": "checkout",
            "exception.stacktrace": STACK,
            "gen_ai.request.model": "gpt-4o",
            "newlib.count": 10**12,
        },
        events=[
            {"name": "newlib.turn", "time_unix_nano": 1, "attributes": {"said": LONG_TEXT, "turn": 1}},
            {"name": "exception", "time_unix_nano": 1, "attributes": {"exception.stacktrace": STACK}},
        ],
    )
    captured = SpanCapture(redactor_for(mode)).capture(span)

    assert [payload.role for payload in captured.payloads] == [FREE_TEXT_ROLE]
    content = json.loads(captured.payloads[0].content)
    assert content["newlib.user_question"] == LONG_TEXT
    assert content["newlib.history"] == [LONG_TEXT[:120]] * 2
    assert content["events"] == [{"name": "newlib.turn", "attributes": {"said": LONG_TEXT}}]
    assert "order never arrived" not in visible(captured.span)
    assert captured.span.attributes["exception.stacktrace"] == STACK
    assert captured.span.events[1]["attributes"] == {"exception.stacktrace": STACK}
    assert captured.span.attributes["gen_ai.request.model"] == "gpt-4o"
    assert captured.span.attributes["tracefoundry.payload.other_ref"].startswith(refs.PUBLIC_PREFIX)


def test_short_unknown_values_stay_metadata_in_standard() -> None:
    short = {"newlib.short_label": "checkout", "newlib.url": "https://shop.example/orders/123", "n": 5}
    captured = SpanCapture(redactor_for("standard")).capture(unknown_span(dict(short)))
    assert captured.payloads == ()
    assert {key: captured.span.attributes[key] for key in short} == short


def test_off_mode_moves_only_listed_content() -> None:
    captured = SpanCapture(redactor_for("off")).capture(unknown_span({"newlib.user_question": LONG_TEXT}))
    assert captured.payloads == ()
    assert captured.span.attributes["newlib.user_question"] == LONG_TEXT


def test_a_value_just_under_the_threshold_stays() -> None:
    threshold = load_policy(POLICY).free_text_payload_min_chars
    at, under = "x" * threshold, "x" * (threshold - 1)
    captured = SpanCapture(redactor_for("standard")).capture(unknown_span({"a.at": at, "a.under": under}))
    assert [(payload.role, payload.content) for payload in captured.payloads] == [(FREE_TEXT_ROLE, at.encode())]
    assert captured.span.attributes["a.under"] == under


BASE_POLICY = "version: 1\nallowed_attributes: [service.*]\n"


@pytest.mark.parametrize("value", ["10", "63", "-1", "lots"])
def test_a_threshold_that_would_move_short_values_is_refused(value: str) -> None:
    with pytest.raises(PolicyError, match="line 3: free_text_payload_min_chars must be 0"):
        parse_policy(BASE_POLICY + f"free_text_payload_min_chars: {value}\n")


def test_the_net_can_be_turned_off_in_the_policy() -> None:
    policy = parse_policy(BASE_POLICY + "free_text_payload_min_chars: 0\n")
    captured = SpanCapture(Redactor(policy, RedactionMode.STANDARD)).capture(unknown_span({"x.q": LONG_TEXT}))
    assert captured.payloads == ()


# Content keys the issue names, with short values (below the safety net's threshold): each is a payload rule.
NAMED_CONTENT_KEYS = [
    "gen_ai.prompt.0.content",
    "gen_ai.completion.0.content",
    "gen_ai.completion.0.tool_calls.0.arguments",
    "ai.prompt",
    "ai.prompt.messages",
    "ai.response.text",
    "ai.response.object",
    "ai.response.toolCalls",
    "ai.toolCall.args",
    "ai.toolCall.result",
    "traceloop.entity.input",
    "traceloop.entity.output",
    "llm.prompt_template.template",
    "llm.prompt_template.variables",
    "reranker.query",
    "reranker.input_documents.0.document.content",
    "reranker.output_documents.0.document.content",
    "embedding.embeddings.0.embedding.text",
    "retrieval.documents.0.document.content",
    "langfuse.observation.input",
    "langfuse.observation.output",
    "langfuse.observation.metadata",
    "langfuse.observation.metadata.note",
    "langfuse.trace.input",
    "langfuse.trace.output",
    "langfuse.trace.metadata",
    "mlflow.spanInputs",
    "mlflow.spanOutputs",
    "gcp.vertex.agent.llm_request",
    "gcp.vertex.agent.llm_response",
    "gcp.vertex.agent.tool_call_args",
    "gcp.vertex.agent.tool_response",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments",
    "pydantic_ai.all_messages",
]


@pytest.mark.parametrize("mode", ["off", "standard", "strict"])
@pytest.mark.parametrize("key", NAMED_CONTENT_KEYS)
def test_every_named_content_key_is_a_payload_in_every_mode(key: str, mode: str) -> None:
    captured = SpanCapture(redactor_for(mode)).capture(unknown_span({key: "short-secret-words"}))
    assert key not in captured.span.attributes
    assert "short-secret-words" not in visible(captured.span)
    assert [payload.role for payload in captured.payloads] != [FREE_TEXT_ROLE]
    assert b"short-secret-words" in captured.payloads[0].content


@pytest.mark.parametrize(
    "event", ["gen_ai.user.message", "gen_ai.assistant.message", "gen_ai.tool.message", "gen_ai.choice"]
)
def test_deprecated_per_message_events_lose_their_content(event: str) -> None:
    attributes = {
        "content": "short-secret-words",
        "tool_calls": '[{"arguments": "args-words"}]',
        "gen_ai.system": "openai",
    }
    span = unknown_span({}, events=[{"name": event, "time_unix_nano": 1, "attributes": attributes}])
    captured = SpanCapture(redactor_for("standard")).capture(span)
    assert captured.span.events[0]["attributes"]["gen_ai.system"] == "openai"
    assert "words" not in visible(captured.span)
    assert b"short-secret-words" in captured.payloads[0].content
    assert b"args-words" in captured.payloads[0].content

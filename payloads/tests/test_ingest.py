"""Payload capture at ingest: content moved to the store, refs on spans, one payload per role, dedup."""

import json

import pytest
from django.test import Client
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from payloads import queries
from payloads.hashing import sha256_hex
from payloads.ingest import store_payload
from payloads.models import PayloadBlob, SpanPayloadRef
from payloads.refs import parse_ref, public_value
from traces.ingest import ingest_request
from traces.models import Span

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


def _request(
    spans: list[tuple[str, dict[str, str], list[tuple[str, dict[str, str]]]]],
) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    scope_spans = request.resource_spans.add().scope_spans.add()
    for index, (span_id, attributes, events) in enumerate(spans):
        span = scope_spans.spans.add()
        span.trace_id, span.span_id = bytes.fromhex(TRACE_ID), bytes.fromhex(span_id)
        span.name = f"span {index}"
        span.start_time_unix_nano, span.end_time_unix_nano = 1_000 + index, 2_000 + index
        span.attributes.extend(KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in attributes.items())
        for name, event_attributes in events:
            event = span.events.add()
            event.name = name
            event.attributes.extend(
                KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in event_attributes.items()
            )
    return request


def _openinference_messages(count: int) -> dict[str, str]:
    attributes = {"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o"}
    for i in range(count):
        attributes[f"llm.input_messages.{i}.message.role"] = "user" if i % 2 == 0 else "assistant"
        attributes[f"llm.input_messages.{i}.message.content"] = f"message number {i}"
    return attributes


@pytest.mark.django_db
def test_flattened_messages_become_one_payload_and_the_span_keeps_a_ref() -> None:
    ingest_request(_request([("b7ad6b7169203331", _openinference_messages(25), [])]))

    span = Span.objects.get()
    blob = PayloadBlob.objects.get()
    content = queries.payload_content(blob.sha256)
    assert span.attributes == {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o",
        "tracefoundry.payload.input_messages_ref": public_value(blob.sha256),
        "tracefoundry.payload.input_messages_size": blob.size_bytes,
    }
    assert json.loads(content.content)[:2] == [
        {"message": {"content": "message number 0", "role": "user"}},
        {"message": {"content": "message number 1", "role": "assistant"}},
    ]
    assert len(json.loads(content.content)) == 25
    assert content.content_type == "application/json"
    assert list(SpanPayloadRef.objects.values_list("role", "attribute")) == [("input_messages", "llm.input_messages.*")]


@pytest.mark.django_db
def test_message_events_are_moved_and_the_event_points_at_the_payload() -> None:
    events = [
        ("gen_ai.user.message", {"content": "hello there", "gen_ai.system": "openai"}),
        ("gen_ai.choice", {"content": "hi!"}),
        ("retry", {"attempt": "2"}),
    ]
    ingest_request(_request([("b7ad6b7169203331", {"gen_ai.operation.name": "chat"}, events)]))

    span = Span.objects.get()
    ref = span.attributes["tracefoundry.payload.messages_ref"]
    assert [event["attributes"] for event in span.events] == [
        {"gen_ai.system": "openai", "tracefoundry.payload.messages_ref": ref},
        {"tracefoundry.payload.messages_ref": ref},
        {"attempt": "2"},
    ]
    assert json.loads(queries.payload_content(parse_ref(ref)).content) == [
        {"name": "gen_ai.user.message", "attributes": {"content": "hello there"}},
        {"name": "gen_ai.choice", "attributes": {"content": "hi!"}},
    ]


@pytest.mark.django_db
def test_identical_content_is_one_blob_and_a_resent_batch_changes_nothing() -> None:
    prompt = {"input.value": "What is the weather in Paris?", "output.value": "Rainy."}
    request = _request([("b7ad6b7169203331", prompt, []), ("b7ad6b7169203332", prompt, [])])

    ingest_request(request)
    ingest_request(request)

    assert PayloadBlob.objects.count() == 2
    assert SpanPayloadRef.objects.count() == 4
    assert set(PayloadBlob.objects.values_list("sha256", flat=True)) == {
        sha256_hex(b"What is the weather in Paris?"),
        sha256_hex(b"Rainy."),
    }


@pytest.mark.django_db
def test_refs_sent_by_the_sdk_are_linked_to_uploaded_blobs() -> None:
    uploaded = store_payload(b"tool output text", "text/plain")
    attributes = {
        "tracefoundry.payload.tool_result_ref": uploaded.ref,
        "tracefoundry.payload.tool_result_size": "16",
        "tracefoundry.payload.tool_args": '{"city": "Paris"}',
    }
    ingest_request(_request([("b7ad6b7169203331", attributes, [])]))

    refs = queries.refs_for_spans([Span.objects.get().pk])
    assert [(r["role"], r["attribute"], r["content_type"]) for r in next(iter(refs.values()))] == [
        ("tool_args", "tracefoundry.payload.tool_args", "application/json"),
        ("tool_result", "tracefoundry.payload.tool_result_ref", "text/plain; charset=utf-8"),
    ]


@pytest.mark.django_db
def test_refs_for_spans_is_one_query(django_assert_num_queries) -> None:
    spans: list[tuple[str, dict[str, str], list[tuple[str, dict[str, str]]]]] = [
        (f"b7ad6b71692033{i:02d}", {"input.value": f"prompt {i}"}, []) for i in range(1, 11)
    ]
    ingest_request(_request(spans))
    pks = list(Span.objects.values_list("pk", flat=True))

    with django_assert_num_queries(1):
        refs = queries.refs_for_spans(pks)

    assert sorted(len(items) for items in refs.values()) == [1] * 10
    first = refs[Span.objects.get(span_id="b7ad6b7169203301").pk][0]
    assert first == {
        "ref": public_value(sha256_hex(b"prompt 1")),
        "role": "input",
        "attribute": "input.value",
        "size_bytes": 8,
        "content_type": "text/plain; charset=utf-8",
        "status": "stored",
    }


@pytest.mark.django_db
def test_deleting_a_span_deletes_its_refs_not_the_blob(client: Client) -> None:
    ingest_request(_request([("b7ad6b7169203331", {"input.value": "hello"}, [])]))

    Span.objects.all().delete()

    assert (SpanPayloadRef.objects.count(), PayloadBlob.objects.count()) == (0, 1)

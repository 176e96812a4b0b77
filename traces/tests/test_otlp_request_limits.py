"""Bounded work per OTLP request: too many spans or distinct traces in one request is a 413 naming the limit,
answered before anything is stored; a request at the limits is stored whole."""

import base64
import json

import pytest
from django.test import Client
from google.protobuf import json_format
from google.rpc.status_pb2 import Status

from testing.factories import SpanSpec, agent_trace, export_request, new_span_id, new_trace_id, pb_span
from traces.models import Span, Trace

URL = "/otlp/v1/traces"


def post(client: Client, body: bytes, headers: dict[str, str]):
    extra = {k: v for k, v in headers.items() if k != "Content-Type"}
    return client.post(URL, data=body, content_type=headers["Content-Type"], headers=extra)


def one_span_traces(count: int) -> list[SpanSpec]:
    return [SpanSpec(new_trace_id(), new_span_id(), "step") for _ in range(count)]


def json_body(spans: list[SpanSpec]) -> bytes:
    document = json_format.MessageToDict(export_request(spans))
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                # OTLP/JSON carries ids as hex, where protobuf's JSON mapping has base64.
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return json.dumps(document).encode()


@pytest.fixture
def limits(settings) -> None:
    settings.OTLP_MAX_SPANS_PER_REQUEST = 8
    settings.OTLP_MAX_TRACES_PER_REQUEST = 2


@pytest.mark.django_db
class TestProtobuf:
    def test_more_spans_than_the_limit_is_413_naming_it_and_stores_nothing(
        self, client: Client, otlp_headers, limits
    ) -> None:
        trace_id = new_trace_id()
        spans = [SpanSpec(trace_id, new_span_id(), f"step {n}") for n in range(9)]

        response = post(client, export_request(spans).SerializeToString(), otlp_headers())

        assert response.status_code == 413
        assert response["Content-Type"] == "application/x-protobuf"
        status = Status.FromString(response.content)
        assert status.message == (
            "request holds 9 spans, over the limit of 8 spans per request (OTLP_MAX_SPANS_PER_REQUEST): "
            "send smaller batches"
        )
        assert status.code == 8  # RESOURCE_EXHAUSTED
        assert (Span.objects.count(), Trace.objects.count()) == (0, 0)

    def test_more_distinct_traces_than_the_limit_is_413_naming_it_and_stores_nothing(
        self, client: Client, otlp_headers, limits
    ) -> None:
        response = post(client, export_request(one_span_traces(3)).SerializeToString(), otlp_headers())

        assert response.status_code == 413
        assert "more than 2 distinct traces, the limit per request (OTLP_MAX_TRACES_PER_REQUEST)" in (
            Status.FromString(response.content).message
        )
        assert (Span.objects.count(), Trace.objects.count()) == (0, 0)

    def test_spans_split_over_resources_and_scopes_are_counted_together(
        self, client: Client, otlp_headers, limits
    ) -> None:
        trace_id = new_trace_id()
        request = export_request(agent_trace(trace_id))
        request.resource_spans.extend(export_request(agent_trace(trace_id), service="other").resource_spans)
        request.resource_spans[1].scope_spans.add().spans.append(pb_span(SpanSpec(trace_id, new_span_id(), "late")))

        response = post(client, request.SerializeToString(), otlp_headers())

        assert response.status_code == 413
        assert Status.FromString(response.content).message.startswith("request holds 9 spans")

    def test_a_request_at_both_limits_is_stored_whole(self, client: Client, otlp_headers, limits) -> None:
        spans = agent_trace() + agent_trace()

        response = post(client, export_request(spans).SerializeToString(), otlp_headers())

        assert response.status_code == 200
        assert (Span.objects.count(), Trace.objects.count()) == (8, 2)


@pytest.mark.django_db
class TestJson:
    def test_more_spans_than_the_limit_is_413_in_json(self, client: Client, otlp_headers, limits) -> None:
        trace_id = new_trace_id()
        spans = [SpanSpec(trace_id, new_span_id(), f"step {n}") for n in range(9)]

        response = post(client, json_body(spans), otlp_headers("application/json"))

        assert response.status_code == 413
        assert response["Content-Type"] == "application/json"
        assert response.json() == {
            "code": 8,
            "message": "request holds 9 spans, over the limit of 8 spans per request (OTLP_MAX_SPANS_PER_REQUEST): "
            "send smaller batches",
        }
        assert Span.objects.count() == 0

    def test_more_distinct_traces_than_the_limit_is_413_in_json(self, client: Client, otlp_headers, limits) -> None:
        response = post(client, json_body(one_span_traces(3)), otlp_headers("application/json"))

        assert response.status_code == 413
        assert "(OTLP_MAX_TRACES_PER_REQUEST)" in response.json()["message"]
        assert Span.objects.count() == 0

    def test_a_json_request_at_both_limits_is_stored_whole(self, client: Client, otlp_headers, limits) -> None:
        response = post(client, json_body(agent_trace() + agent_trace()), otlp_headers("application/json"))

        assert response.status_code == 200
        assert Span.objects.count() == 8

"""Property-based fuzzing of OTLP ingest and the trace list cursor: hostile spans in protobuf and OTLP/JSON, bytes
that are not protobuf at all, JSON of any shape, and cursors of any content. Ingest answers 200 or 400 and the
list 200 or 400, never 500; the decoders raise only their own error."""

import base64
import json
from typing import Any

import pytest
from django.test import Client
from google.protobuf import json_format
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from testing.factories import NOW_NS
from tracefoundry_site.tests import fuzzing
from traces import otlp, span_limits
from traces.ingest import prepare_request

URL = "/otlp/v1/traces"
INT64 = st.integers(-(2**63), 2**63 - 1)
UINT64 = st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([0, 1, NOW_NS, NOW_NS + 1, 2**63 - 1, 2**63, 2**64 - 1]))
INT32 = st.integers(-(2**31), 2**31 - 1)
HOSTILE_TEXT = st.sampled_from(
    ["\x00", "a\x00b", "²", "1e30", "1e999999", "NaN", "Infinity", "-1", "1" * 30, "9" * 5000]
)
TEXT = st.one_of(st.text(max_size=20), HOSTILE_TEXT)
MAPPED_KEYS = st.sampled_from(
    [
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "llm.token_count.total",
        "tracefoundry.cost.usd",
        "llm.cost.prompt",
        "llm.cost.completion",
        "tracefoundry.retry.count",
        "http.request.resend_count",
        "gen_ai.operation.name",
        "gen_ai.request.model",
        "openinference.span.kind",
        "tracefoundry.payload.input_ref",
        "tracefoundry.payload.input_size",
        "input.value",
        "error.type",
        "tracefoundry.timeout",
    ]
)
SCALARS = st.one_of(
    TEXT,
    INT64,
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.binary(max_size=16),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.lists(st.tuples(TEXT, children), max_size=3).map(dict)
    ),
    max_leaves=8,
)
ATTRIBUTES = st.lists(st.tuples(st.one_of(MAPPED_KEYS, TEXT), VALUES), max_size=6)
ID_16 = st.one_of(st.just(bytes.fromhex("5eed" * 8)), st.binary(min_size=16, max_size=16), st.binary(max_size=17))
ID_8 = st.one_of(st.binary(min_size=8, max_size=8), st.binary(max_size=9))


def any_value(value: Any) -> AnyValue:
    result = AnyValue()
    if isinstance(value, bool):
        result.bool_value = value
    elif isinstance(value, int):
        result.int_value = value
    elif isinstance(value, float):
        result.double_value = value
    elif isinstance(value, bytes):
        result.bytes_value = value
    elif isinstance(value, str):
        result.string_value = value
    elif isinstance(value, list):
        result.array_value.values.extend(any_value(item) for item in value)
    else:
        result.kvlist_value.values.extend(key_value(key, item) for key, item in value.items())
    return result


def key_value(key: str, value: Any) -> KeyValue:
    return KeyValue(key=key, value=any_value(value))


@st.composite
def requests(draw: st.DrawFn) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(1, 2))):
        resource_spans = request.resource_spans.add(schema_url=draw(TEXT))
        resource_spans.resource.attributes.extend(key_value(k, v) for k, v in draw(ATTRIBUTES))
        scope_spans = resource_spans.scope_spans.add(schema_url=draw(TEXT))
        scope_spans.scope.name, scope_spans.scope.version = draw(TEXT), draw(TEXT)
        for _ in range(draw(st.integers(1, 3))):
            start = draw(UINT64)
            span = scope_spans.spans.add(
                trace_id=draw(ID_16),
                span_id=draw(ID_8),
                parent_span_id=draw(st.one_of(st.just(b""), ID_8)),
                name=draw(TEXT),
                kind=draw(st.one_of(st.integers(0, 5), INT32)),
                start_time_unix_nano=start,
                end_time_unix_nano=draw(st.one_of(st.just(min(start + 1000, 2**64 - 1)), UINT64)),
                trace_state=draw(TEXT),
                flags=draw(st.integers(0, 2**32 - 1)),
            )
            span.status.code = draw(st.one_of(st.integers(0, 2), INT32))
            span.status.message = draw(TEXT)
            span.attributes.extend(key_value(k, v) for k, v in draw(ATTRIBUTES))
            for _ in range(draw(st.integers(0, 2))):
                event = span.events.add(name=draw(TEXT), time_unix_nano=draw(UINT64))
                event.attributes.extend(key_value(k, v) for k, v in draw(ATTRIBUTES))
            for _ in range(draw(st.integers(0, 1))):
                span.links.add(trace_id=draw(ID_16), span_id=draw(ID_8), trace_state=draw(TEXT))
    return request


def as_otlp_json(request: ExportTraceServiceRequest) -> dict[str, Any]:
    """OTLP/JSON of the request: ids as hex, as OTLP/JSON senders write them."""
    document = json_format.MessageToDict(request)
    for resource_spans in document.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                for item in [span, *span.get("links", [])]:
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if key in item:
                            item[key] = base64.b64decode(item[key]).hex()
    return document


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(TEXT, children, max_size=3)),
    max_leaves=12,
)


@pytest.fixture
def otlp_client(otlp_headers) -> tuple[Client, str]:
    return Client(raise_request_exception=False), otlp_headers()["Authorization"]


def post(target: str, client_and_key: tuple[Client, str], body: bytes, content_type: str) -> None:
    client, key = client_and_key
    response = client.post(URL, body, content_type=content_type, headers={"Authorization": key})
    fuzzing.record(target, response.status_code, response.content[:300])
    assert response.status_code in (200, 400), response.content[:300]


@pytest.mark.django_db
def test_hostile_spans_in_protobuf_are_stored_or_refused_never_a_500(otlp_client: tuple[Client, str]) -> None:
    @fuzzing.http_fuzz_settings
    @given(request=requests())
    def case(request: ExportTraceServiceRequest) -> None:
        post("otlp protobuf spans", otlp_client, request.SerializeToString(), "application/x-protobuf")

    case()


@pytest.mark.django_db
def test_hostile_spans_in_otlp_json_are_stored_or_refused_never_a_500(otlp_client: tuple[Client, str]) -> None:
    @fuzzing.http_fuzz_settings
    @given(request=requests(), depth=st.integers(0, 120))
    def case(request: ExportTraceServiceRequest, depth: int) -> None:
        document = as_otlp_json(request)
        document["nested"] = [] if depth == 0 else json.loads("[" * depth + "]" * depth)
        post("otlp json spans", otlp_client, json.dumps(document).encode(), "application/json")

    case()


@pytest.mark.django_db
def test_any_json_document_is_stored_or_refused_never_a_500(otlp_client: tuple[Client, str]) -> None:
    @fuzzing.http_fuzz_settings
    @given(document=JSON_VALUES, where=st.sampled_from(["top", "resourceSpans", "spans", "span", "attributes"]))
    def case(document: Any, where: str) -> None:
        span = {"traceId": "5eed" * 8, "spanId": "5eed" * 4, "startTimeUnixNano": "1", "attributes": document}
        wrapped = {
            "top": document,
            "resourceSpans": {"resourceSpans": document},
            "spans": {"resourceSpans": [{"scopeSpans": [{"spans": document}]}]},
            "span": {"resourceSpans": [{"scopeSpans": [{"spans": [document]}]}]},
            "attributes": {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]},
        }[where]
        post("otlp json documents", otlp_client, json.dumps(wrapped).encode(), "application/json")

    case()


@pytest.mark.django_db
def test_bytes_that_are_not_quite_protobuf_are_refused_never_a_500(otlp_client: tuple[Client, str]) -> None:
    @fuzzing.http_fuzz_settings
    @given(
        request=requests(), cut=st.integers(0, 2000), noise=st.binary(min_size=1, max_size=64), at=st.integers(0, 2000)
    )
    def case(request: ExportTraceServiceRequest, cut: int, noise: bytes, at: int) -> None:
        body = request.SerializeToString()[:cut]
        body = body[:at] + noise + body[at:]  # noise is never empty: the test client cannot send an empty body
        post("otlp protobuf bytes", otlp_client, body, "application/x-protobuf")

    case()


def test_the_decoders_raise_only_their_own_error() -> None:
    @fuzzing.fuzz_settings
    @given(body=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
    def case(body: bytes) -> None:
        for decode in (otlp.decode_protobuf, otlp.decode_json):
            try:
                prepare_request(decode(body))
            except otlp.OtlpDecodeError:
                fuzzing.record("otlp decoders (pure)", 400)
            else:
                fuzzing.record("otlp decoders (pure)", 200)

    case()


def test_hostile_spans_are_prepared_or_rejected_span_by_span() -> None:
    @fuzzing.fuzz_settings
    @given(request=requests(), as_json=st.booleans())
    def case(request: ExportTraceServiceRequest, as_json: bool) -> None:
        body = json.dumps(as_otlp_json(request)).encode() if as_json else request.SerializeToString()
        try:
            decoded = otlp.decode_json(body) if as_json else otlp.decode_protobuf(body)
        except otlp.OtlpDecodeError:
            fuzzing.record("otlp spans (pure)", 400)
            return
        batch = prepare_request(decoded)
        fuzzing.record("otlp spans (pure)", 200)
        for row in batch.spans.values():
            assert 0 <= row["input_tokens"] <= span_limits.MAX_TOKENS
            assert 0 <= row["cost_usd"] <= span_limits.MAX_COST_USD
            assert row["kind"] in span_limits.SPAN_KINDS
            assert "\\u0000" not in json.dumps([row["name"], row["trace_state"], row["attributes"], row["scope"]])

    case()


def _cursor_of(document: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


@pytest.mark.django_db
def test_any_cursor_is_read_or_refused_never_a_500(client: Client, admin_user: Any) -> None:
    client.raise_request_exception = False
    client.force_login(admin_user)
    sorts = st.sampled_from(["newest", "oldest", "slowest", "most_expensive", "most_tokens"])
    cursors = st.one_of(
        st.text(max_size=40),
        JSON_VALUES.map(_cursor_of),
        st.tuples(st.one_of(TEXT, st.floats().map(str), st.integers().map(str)), TEXT).map(list).map(_cursor_of),
        st.sampled_from(['["NaN", "x"]', '["Infinity", "x"]', '["1e999999", "x"]']).map(json.loads).map(_cursor_of),
    )

    @fuzzing.http_fuzz_settings
    @given(cursor=cursors, sort=sorts)
    def case(cursor: str, sort: str) -> None:
        response = client.get("/api/traces", {"cursor": cursor, "sort": sort})
        fuzzing.record("trace list cursor", response.status_code, response.content[:300])
        assert response.status_code in (200, 400)

    case()

"""Decode OTLP trace requests (protobuf or OTLP/JSON) into plain span values, and encode spans back.

Pure: no ORM, no I/O. Reading is as lenient as the OpenTelemetry Collector (snake_case keys, enum names,
64-bit integers as strings or numbers); writing follows the OTLP/JSON rules strictly (hex ids, lowerCamelCase,
64-bit integers as decimal strings, enums as integers), deterministically: spans by start time then id,
attribute keys sorted at every level, so the same spans give the same bytes on SQLite and Postgres.

Known limits: `bytesValue` attributes are kept as base64 strings, so they come back as strings on export;
non-finite doubles are kept as the strings "NaN", "Infinity" and "-Infinity" (JSON columns cannot hold them).
"""

import base64
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from payloads.contracts import Attributes, JsonValue, OtlpSpan, RejectedSpan
from tracefoundry_site import json_limits

_ZERO_TRACE_ID = bytes(16)
_ZERO_SPAN_ID = bytes(8)
_MAX_NAME_CHARS = 1024
# Messages inside messages (a request, its resources, scopes, spans, attribute values...): what protobuf's binary
# parser allows too, so both encodings accept the same requests.
_MAX_MESSAGE_DEPTH = 100


class OtlpDecodeError(ValueError):
    """The body is not an OTLP ExportTraceServiceRequest in the declared encoding."""


class RequestOverLimit(ValueError):
    """The request holds more spans or distinct traces than one request may (its message names the limit)."""


@dataclass(frozen=True, slots=True)
class RequestLimits:
    """Work one request may ask for, checked once the body is parsed and before any span is built from it."""

    max_spans: int
    max_traces: int

    def check_span_count(self, count: int) -> None:
        if count > self.max_spans:
            raise RequestOverLimit(
                f"request holds {count} spans, over the limit of {self.max_spans} spans per request "
                "(OTLP_MAX_SPANS_PER_REQUEST): send smaller batches"
            )

    def check_trace_count(self, trace_ids: Iterator[object]) -> None:
        seen: set[object] = set()
        for trace_id in trace_ids:
            seen.add(trace_id)
            if len(seen) > self.max_traces:
                raise RequestOverLimit(
                    f"request holds spans of more than {self.max_traces} distinct traces, the limit per request "
                    "(OTLP_MAX_TRACES_PER_REQUEST): send smaller batches"
                )


def decode_protobuf(body: bytes, limits: RequestLimits | None = None) -> ExportTraceServiceRequest:
    """The parsed request; with `limits`, RequestOverLimit if it asks for too much (the parsed message is compact
    C memory, bounded by the body's size; the Python values of its spans are built later, by `iter_spans`)."""
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, ValueError) as exc:
        raise OtlpDecodeError(f"body is not a valid protobuf ExportTraceServiceRequest: {exc}") from exc
    if limits is not None:
        scopes = [
            scope_spans for resource_spans in request.resource_spans for scope_spans in resource_spans.scope_spans
        ]
        limits.check_span_count(sum(len(scope_spans.spans) for scope_spans in scopes))
        limits.check_trace_count(span.trace_id for scope_spans in scopes for span in scope_spans.spans)
    return request


def decode_json(body: bytes, limits: RequestLimits | None = None) -> ExportTraceServiceRequest:
    """As `decode_protobuf`; the limits are checked on the JSON document, before its protobuf message is built."""
    try:
        document = json_limits.loads(body, max_depth=None) if body.strip() else {}
    except json_limits.JsonTooDeep as exc:
        raise OtlpDecodeError(f"body is not an OTLP/JSON request: {exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OtlpDecodeError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise OtlpDecodeError("body must be a JSON object with resourceSpans")
    if limits is not None:
        limits.check_span_count(sum(1 for _ in _json_spans(document)))
        limits.check_trace_count(span.get("traceId", span.get("trace_id")) for span in _json_spans(document))
    for span in _json_spans(document):
        hex_ids_to_base64(span, ("traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id"))
        for link in span.get("links") or []:
            if isinstance(link, dict):
                hex_ids_to_base64(link, ("traceId", "trace_id", "spanId", "span_id"))
    request = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=True, max_recursion_depth=_MAX_MESSAGE_DEPTH)
    except json_format.ParseError as exc:
        raise OtlpDecodeError(f"body is not a valid OTLP/JSON ExportTraceServiceRequest: {exc}") from exc
    return request


def _json_spans(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for resource_spans in json_list(document, "resourceSpans", "resource_spans"):
        for scope_spans in json_list(resource_spans, "scopeSpans", "scope_spans"):
            yield from json_list(scope_spans, "spans")


def json_list(parent: Any, *keys: str) -> list[dict[str, Any]]:
    if not isinstance(parent, dict):
        return []
    for key in keys:
        value = parent.get(key)
        if isinstance(value, list):
            return [item for item in value if isinstance(item, dict)]
    return []


def hex_ids_to_base64(message: dict[str, Any], keys: tuple[str, ...]) -> None:
    # OTLP/JSON carries ids as hex, protobuf's JSON parser expects base64. An id that is not hex becomes
    # a one-byte id, which validation rejects for its length instead of failing the whole batch.
    for key in keys:
        value = message.get(key)
        if not isinstance(value, str):
            continue
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raw = b"\x00"
        message[key] = base64.b64encode(raw).decode()


def iter_spans(request: ExportTraceServiceRequest) -> Iterator[OtlpSpan | RejectedSpan]:
    """Every span of the request, flattened with its resource and scope, or the reason it cannot be stored."""
    for resource_spans in request.resource_spans:
        resource_attributes = attributes_to_dict(resource_spans.resource.attributes)
        resource_extra: dict[str, JsonValue] = {}
        if resource_spans.schema_url:
            resource_extra["resource_schema_url"] = clean_str(resource_spans.schema_url)
        if resource_spans.resource.dropped_attributes_count:
            resource_extra["resource_dropped_attributes_count"] = resource_spans.resource.dropped_attributes_count
        for scope_spans in resource_spans.scope_spans:
            scope = {
                "name": clean_str(scope_spans.scope.name),
                "version": clean_str(scope_spans.scope.version),
                "attributes": attributes_to_dict(scope_spans.scope.attributes),
                "dropped_attributes_count": scope_spans.scope.dropped_attributes_count,
                "schema_url": clean_str(scope_spans.schema_url),
            }
            for span in scope_spans.spans:
                rejection = _rejection(span)
                if rejection:
                    yield RejectedSpan(span.trace_id.hex(), span.span_id.hex(), rejection)
                else:
                    yield _to_otlp_span(span, resource_attributes, scope, resource_extra)


def _rejection(span: PbSpan) -> str:
    if len(span.trace_id) != 16 or span.trace_id == _ZERO_TRACE_ID:
        return "invalid trace id (must be 16 bytes, not all zero)"
    if len(span.span_id) != 8 or span.span_id == _ZERO_SPAN_ID:
        return "invalid span id (must be 8 bytes, not all zero)"
    if span.parent_span_id and len(span.parent_span_id) != 8:
        return "invalid parent span id (must be 8 bytes)"
    if span.start_time_unix_nano == 0:
        return "missing start time"
    if span.end_time_unix_nano < span.start_time_unix_nano:
        return "end time before start time"
    if span.start_time_unix_nano > 2**63 - 1 or span.end_time_unix_nano > 2**63 - 1:
        return "timestamp out of range"
    return ""


def _to_otlp_span(
    span: PbSpan,
    resource_attributes: Attributes,
    scope: dict[str, JsonValue],
    resource_extra: dict[str, JsonValue],
) -> OtlpSpan:
    parent = span.parent_span_id
    status = span.status
    return OtlpSpan(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id="" if not parent or parent == _ZERO_SPAN_ID else parent.hex(),
        name=clean_str(span.name)[:_MAX_NAME_CHARS],
        kind=span.kind,
        start_unix_nano=span.start_time_unix_nano,
        end_unix_nano=span.end_time_unix_nano,
        status_code=status.code,
        status_message=clean_str(status.message),
        trace_state=clean_str(span.trace_state),
        flags=span.flags,
        attributes=attributes_to_dict(span.attributes),
        resource_attributes=resource_attributes,
        events=_events(span.events) if span.events else [],
        links=_links(span.links) if span.links else [],
        scope=scope,
        otlp_extra=_otlp_extra(span, resource_extra),
    )


def _otlp_extra(span: PbSpan, resource_extra: dict[str, JsonValue]) -> dict[str, JsonValue]:
    # Only what differs from OTLP's defaults (empty, zero) is kept: readers default the rest.
    extra = {**resource_extra}
    if span.dropped_attributes_count:
        extra["dropped_attributes_count"] = span.dropped_attributes_count
    if span.dropped_events_count:
        extra["dropped_events_count"] = span.dropped_events_count
    if span.dropped_links_count:
        extra["dropped_links_count"] = span.dropped_links_count
    return extra


def _events(events: Any) -> list[dict[str, JsonValue]]:
    return [
        {
            "name": clean_str(event.name),
            "time_unix_nano": event.time_unix_nano,
            "attributes": attributes_to_dict(event.attributes),
            "dropped_attributes_count": event.dropped_attributes_count,
        }
        for event in events
    ]


def _links(links: Any) -> list[dict[str, JsonValue]]:
    return [
        {
            "trace_id": link.trace_id.hex(),
            "span_id": link.span_id.hex(),
            "trace_state": clean_str(link.trace_state),
            "attributes": attributes_to_dict(link.attributes),
            "dropped_attributes_count": link.dropped_attributes_count,
            "flags": link.flags,
        }
        for link in links
    ]


def attributes_to_dict(key_values: Any) -> Attributes:
    # Runs for every attribute of every ingested span: strings and integers, by far the most common, are
    # read inline, the rest through `any_value_to_python`.
    attributes: Attributes = {}
    for kv in key_values:
        key = kv.key
        if "\x00" in key:
            key = clean_str(key)
        value = kv.value
        kind = value.WhichOneof("value")
        if kind == "string_value":
            text = value.string_value
            attributes[key] = clean_str(text) if "\x00" in text else text
        elif kind == "int_value":
            attributes[key] = value.int_value
        else:
            attributes[key] = any_value_to_python(value)
    return attributes


def any_value_to_python(value: AnyValue) -> JsonValue:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return clean_str(value.string_value)
    if kind == "int_value" or kind == "bool_value":
        return getattr(value, kind)
    if kind == "double_value":
        number = value.double_value
        return number if math.isfinite(number) else str(number).replace("inf", "Infinity").replace("nan", "NaN")
    if kind == "array_value":
        return [any_value_to_python(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes_to_dict(value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None


def clean_str(text: str) -> str:
    # Postgres text and jsonb cannot hold NUL characters: every string of a span (names, messages, trace
    # state, scope, attribute keys and values, events, links) passes here, on every database alike.
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


# --- encoding spans as OTLP/JSON (bundles' spans.otlp.json) ----------------------------------------------


def encode_spans_json(spans: Iterable[OtlpSpan]) -> dict[str, JsonValue]:
    """An OTLP/JSON ExportTraceServiceRequest holding the spans, grouped by resource and scope."""
    resources: dict[str, dict[str, Any]] = {}
    for span in sorted(spans, key=lambda s: (s.start_unix_nano, s.span_id, s.end_unix_nano, s.name)):
        resource_key = _canonical(
            [
                span.resource_attributes,
                _extra(span, "resource_schema_url", ""),
                _extra(span, "resource_dropped_attributes_count", 0),
            ]
        )
        resource = resources.setdefault(resource_key, {"message": _resource_json(span), "scopes": {}})
        scope_key = _canonical(span.scope)
        scope = resource["scopes"].setdefault(scope_key, {**_scope_json(span.scope), "spans": []})
        scope["spans"].append(_span_json(span))
    return {
        "resourceSpans": [
            {**resource["message"], "scopeSpans": list(resource["scopes"].values())} for resource in resources.values()
        ]
    }


def _extra(span: OtlpSpan, key: str, default: JsonValue) -> JsonValue:
    return span.otlp_extra.get(key, default)


def _resource_json(span: OtlpSpan) -> dict[str, JsonValue]:
    return {
        "resource": {
            "attributes": _key_values(span.resource_attributes),
            "droppedAttributesCount": int(_extra(span, "resource_dropped_attributes_count", 0)),
        },
        "schemaUrl": str(_extra(span, "resource_schema_url", "")),
    }


def _scope_json(scope: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
    return {
        "scope": {
            "name": str(scope.get("name", "")),
            "version": str(scope.get("version", "")),
            "attributes": _key_values(scope.get("attributes") or {}),
            "droppedAttributesCount": int(scope.get("dropped_attributes_count", 0)),
        },
        "schemaUrl": str(scope.get("schema_url", "")),
    }


def _span_json(span: OtlpSpan) -> dict[str, JsonValue]:
    return {
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "traceState": span.trace_state,
        "parentSpanId": span.parent_span_id,
        "flags": span.flags,
        "name": span.name,
        "kind": span.kind,
        "startTimeUnixNano": str(span.start_unix_nano),
        "endTimeUnixNano": str(span.end_unix_nano),
        "attributes": _key_values(span.attributes),
        "droppedAttributesCount": int(_extra(span, "dropped_attributes_count", 0)),
        "events": [
            {
                "timeUnixNano": str(int(event.get("time_unix_nano", 0))),
                "name": str(event.get("name", "")),
                "attributes": _key_values(event.get("attributes") or {}),
                "droppedAttributesCount": int(event.get("dropped_attributes_count", 0)),
            }
            for event in span.events
        ],
        "droppedEventsCount": int(_extra(span, "dropped_events_count", 0)),
        "links": [
            {
                "traceId": str(link.get("trace_id", "")),
                "spanId": str(link.get("span_id", "")),
                "traceState": str(link.get("trace_state", "")),
                "attributes": _key_values(link.get("attributes") or {}),
                "droppedAttributesCount": int(link.get("dropped_attributes_count", 0)),
                "flags": int(link.get("flags", 0)),
            }
            for link in span.links
        ],
        "droppedLinksCount": int(_extra(span, "dropped_links_count", 0)),
        "status": {"message": span.status_message, "code": span.status_code},
    }


def _key_values(attributes: Mapping[str, JsonValue]) -> list[dict[str, JsonValue]]:
    # Keys sorted at every level: Postgres jsonb does not keep key order, so this is what makes exports of the
    # same spans identical whichever database they were read from.
    return [{"key": key, "value": python_to_any_value(_sorted_deep(attributes[key]))} for key in sorted(attributes)]


def _sorted_deep(value: JsonValue) -> JsonValue:
    if isinstance(value, dict):
        return {key: _sorted_deep(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_deep(item) for item in value]
    return value


def _canonical(value: JsonValue) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def python_to_any_value(value: JsonValue) -> dict[str, JsonValue]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [python_to_any_value(item) for item in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": dict_to_key_values(value)}}
    if value is None:
        return {}
    return {"stringValue": str(value)}


def dict_to_key_values(attributes: Attributes) -> list[dict[str, JsonValue]]:
    return [{"key": key, "value": python_to_any_value(value)} for key, value in attributes.items()]

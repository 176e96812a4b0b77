"""Decode OTLP log requests (protobuf or OTLP/JSON) into span events: what `traces.log_ingest` attaches to spans.

Pure: no ORM, no I/O. A log record with a span context (16-byte trace id and 8-byte span id, not all zero)
becomes one event of that span: its name is the record's `event_name`, else its `event.name` attribute, else
`log`; its attributes are the record's (without `event.name`), plus `body` when the record has one (the body of
the GenAI message events, e.g. `{"content": ...}`, is content the policy's `payload_events` moves to the payload
store), plus `log.severity_text` and `log.severity_number` when set. A record without a span context cannot be
placed and is rejected with its reason. Reading is as lenient as for traces (see `traces.otlp`).
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from payloads.contracts import JsonValue
from traces.otlp import (
    OtlpDecodeError,
    RequestLimits,
    RequestOverLimit,
    any_value_to_python,
    attributes_to_dict,
    clean_str,
    hex_ids_to_base64,
    json_list,
)

EVENT_NAME_ATTRIBUTE = "event.name"
BODY_ATTRIBUTE = "body"
DEFAULT_EVENT_NAME = "log"
_ZERO_TRACE_ID = bytes(16)
_ZERO_SPAN_ID = bytes(8)
_MAX_NAME_CHARS = 1024


@dataclass(frozen=True, slots=True)
class LogEvent:
    """A log record as an event of its span. `record` is the record's canonical bytes: its identity."""

    trace_id: str
    span_id: str
    event: dict[str, JsonValue]
    record: bytes


@dataclass(frozen=True, slots=True)
class RejectedLogRecord:
    trace_id: str
    span_id: str
    reason: str


def decode_protobuf(body: bytes, limits: RequestLimits | None = None) -> ExportLogsServiceRequest:
    """The parsed request; with `limits` (the span limits, applied to records), RequestOverLimit if it holds
    more records or distinct traces than one request may."""
    request = ExportLogsServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, ValueError) as exc:
        raise OtlpDecodeError(f"body is not a valid protobuf ExportLogsServiceRequest: {exc}") from exc
    if limits is not None:
        records = [
            record
            for resource_logs in request.resource_logs
            for scope_logs in resource_logs.scope_logs
            for record in scope_logs.log_records
        ]
        _check_limits(limits, len(records), {record.trace_id for record in records})
    return request


def _check_limits(limits: RequestLimits, count: int, trace_ids: set[Any]) -> None:
    if count > limits.max_spans:
        raise RequestOverLimit(
            f"request holds {count} log records, over the limit of {limits.max_spans} per request "
            "(OTLP_MAX_SPANS_PER_REQUEST): send smaller batches"
        )
    if len(trace_ids) > limits.max_traces:
        raise RequestOverLimit(
            f"request holds log records of {len(trace_ids)} distinct traces, over the limit of {limits.max_traces} "
            "per request (OTLP_MAX_TRACES_PER_REQUEST): send smaller batches"
        )


def decode_json(body: bytes, limits: RequestLimits | None = None) -> ExportLogsServiceRequest:
    try:
        document = json.loads(body) if body.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OtlpDecodeError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise OtlpDecodeError("body must be a JSON object with resourceLogs")
    if limits is not None:
        records = list(_json_records(document))
        _check_limits(limits, len(records), {str(r.get("traceId", r.get("trace_id"))) for r in records})
    for record in _json_records(document):
        hex_ids_to_base64(record, ("traceId", "trace_id", "spanId", "span_id"))
    request = ExportLogsServiceRequest()
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise OtlpDecodeError(f"body is not a valid OTLP/JSON ExportLogsServiceRequest: {exc}") from exc
    return request


def _json_records(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for resource_logs in json_list(document, "resourceLogs", "resource_logs"):
        for scope_logs in json_list(resource_logs, "scopeLogs", "scope_logs"):
            yield from json_list(scope_logs, "logRecords", "log_records")


def iter_log_events(request: ExportLogsServiceRequest) -> Iterator[LogEvent | RejectedLogRecord]:
    """Every record of the request as an event of its span, or the reason it cannot be placed on one."""
    for resource_logs in request.resource_logs:
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                rejection = _rejection(record)
                if rejection:
                    yield RejectedLogRecord(record.trace_id.hex(), record.span_id.hex(), rejection)
                else:
                    yield LogEvent(
                        trace_id=record.trace_id.hex(),
                        span_id=record.span_id.hex(),
                        event=_event(record),
                        record=record.SerializeToString(deterministic=True),
                    )


def _rejection(record: LogRecord) -> str:
    if not record.trace_id and not record.span_id:
        return "no span context (trace_id and span_id), so it belongs to no span"
    if len(record.trace_id) != 16 or record.trace_id == _ZERO_TRACE_ID:
        return "invalid trace id (must be 16 bytes, not all zero)"
    if len(record.span_id) != 8 or record.span_id == _ZERO_SPAN_ID:
        return "invalid span id (must be 8 bytes, not all zero)"
    if record.time_unix_nano > 2**63 - 1 or record.observed_time_unix_nano > 2**63 - 1:
        return "timestamp out of range"
    return ""


def _event(record: LogRecord) -> dict[str, JsonValue]:
    attributes = attributes_to_dict(record.attributes)
    named = attributes.pop(EVENT_NAME_ATTRIBUTE, None)
    name = record.event_name or (named if isinstance(named, str) else "") or DEFAULT_EVENT_NAME
    if record.HasField("body"):
        attributes[BODY_ATTRIBUTE] = any_value_to_python(record.body)
    if record.severity_text:
        attributes["log.severity_text"] = clean_str(record.severity_text)
    if record.severity_number:
        attributes["log.severity_number"] = record.severity_number
    return {
        "name": clean_str(name)[:_MAX_NAME_CHARS],
        "time_unix_nano": record.time_unix_nano or record.observed_time_unix_nano,
        "attributes": attributes,
        "dropped_attributes_count": record.dropped_attributes_count,
    }

"""`POST /otlp/v1/logs`: log records become events of their span, GenAI content becomes its payloads (through
span capture and redaction), whichever of record and span arrives first, exactly once; records that belong to
no span are counted as rejected."""

import gzip
import json
from datetime import timedelta
from typing import Any

import pytest
import zstandard
from django.test import Client
from django.utils import timezone
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

from payloads.models import SpanPayloadRef
from payloads.queries import payload_content
from payloads.refs import public_value
from testing.factories import LogSpec, SpanSpec, export_request, logs_request, new_span_id, new_trace_id
from traces import retention
from traces.ingest import ingest_request
from traces.log_ingest import expire_pending_records
from traces.models import Span, SpanLogRecord, Trace

URL = "/otlp/v1/logs"
SECRET = "sk-proj-" + "Zx9" * 10
PROMPT = f"prompt-logs where is order 1042? my key is {SECRET}"
COMPLETION = "completion-logs it ships tomorrow"
DETAILS = "gen_ai.client.inference.operation.details"


def details(trace_id: str, span_id: str, prompt: str = PROMPT, **spec: Any) -> LogSpec:
    """What the OpenTelemetry GenAI instrumentation sends in event mode (recorded from its current release)."""
    return LogSpec(
        trace_id,
        span_id,
        DETAILS,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.input.messages": [{"role": "user", "parts": [{"type": "text", "content": prompt}]}],
            "gen_ai.output.messages": [
                {"role": "assistant", "parts": [{"type": "text", "content": COMPLETION}], "finish_reason": "stop"}
            ],
        },
        **spec,
    )


def llm_span(trace_id: str, span_id: str) -> SpanSpec:
    return SpanSpec(trace_id, span_id, "chat gpt-4o-mini", attributes={"gen_ai.request.model": "gpt-4o-mini"})


def post_logs(client: Client, body: bytes, headers: dict[str, str]):
    extra = {k: v for k, v in headers.items() if k != "Content-Type"}
    return client.post(URL, data=body, content_type=headers["Content-Type"], headers=extra)


def send_logs(client: Client, headers: dict[str, str], *records: LogSpec) -> ExportLogsServiceResponse:
    response = post_logs(client, logs_request(list(records)).SerializeToString(), headers)
    assert response.status_code == 200, Status.FromString(response.content).message
    return ExportLogsServiceResponse.FromString(response.content)


def send_spans(*spans: SpanSpec) -> None:
    ingest_request(export_request(list(spans)))


def stored(trace_id: str, span_id: str) -> tuple[list[dict[str, Any]], list[tuple[str, str, str]]]:
    span = Span.objects.get(trace_id=trace_id, span_id=span_id)
    refs = sorted(span.payload_refs.values_list("role", "attribute", "blob_id"))
    return span.events, refs


@pytest.mark.django_db
class TestGenAiRecords:
    def test_a_record_after_its_span_becomes_a_payload_that_viewers_cannot_read(
        self, client: Client, otlp_headers, viewer, engineer
    ) -> None:
        trace_id, span_id = new_trace_id(), new_span_id()
        send_spans(llm_span(trace_id, span_id))

        reply = send_logs(client, otlp_headers(), details(trace_id, span_id))

        assert not reply.HasField("partial_success")
        events, refs = stored(trace_id, span_id)
        [event] = events
        assert event["name"] == DETAILS
        assert event["attributes"]["gen_ai.request.model"] == "gpt-4o-mini"
        assert "gen_ai.input.messages" not in event["attributes"]
        [(role, attribute, sha256)] = refs
        assert (role, attribute.startswith("log_record:")) == ("messages", True)
        assert event["attributes"]["tracefoundry.payload.messages_ref"] == public_value(sha256)

        client.force_login(viewer)
        for url in (
            f"/api/spans/{span_id}?trace_id={trace_id}",
            f"/api/traces/{trace_id}/spans",
            "/api/traces?q=prompt-logs",
            f"/api/traces/{trace_id}/search?q=prompt-logs",
        ):
            answer = client.get(url)
            assert answer.status_code == 200
            assert "prompt-logs" not in answer.content.decode()
            assert "completion-logs" not in answer.content.decode()
        assert client.get("/api/traces?q=prompt-logs").json()["items"] == []
        assert client.get(f"/api/traces/{trace_id}/search?q=prompt-logs").json()["span_ids"] == []
        assert client.get(f"/api/traces/{trace_id}/search?q={DETAILS}").json()["span_ids"] == [span_id]
        assert client.get(f"/api/payloads/sha256:{sha256}").status_code == 403

        client.force_login(engineer)
        detail = client.get(f"/api/spans/{span_id}?trace_id={trace_id}").json()
        assert [ref["role"] for ref in detail["payload_refs"]] == ["messages"]
        content = client.get(f"/api/payloads/sha256:{sha256}").json()["content"]
        assert "prompt-logs where is order 1042?" in content
        assert "completion-logs" in content
        assert SECRET not in content
        assert "[REDACTED:openai_api_key]" in content
        assert json.loads(content)[0]["name"] == DETAILS

    def test_a_record_before_its_span_waits_and_is_attached_exactly_as_after(
        self, client: Client, otlp_headers
    ) -> None:
        first_span, first_log = (new_trace_id(), new_span_id()), (new_trace_id(), new_span_id())
        send_spans(llm_span(*first_span))
        send_logs(client, otlp_headers(), details(*first_span))

        send_logs(client, otlp_headers(), details(*first_log))
        assert not Trace.objects.filter(trace_id=first_log[0]).exists()  # nothing to show before a span
        assert SpanLogRecord.objects.filter(trace_id=first_log[0], attached_at__isnull=True).count() == 1
        send_spans(llm_span(*first_log))

        (events_before, refs_before), (events_after, refs_after) = stored(*first_log), stored(*first_span)
        assert events_before == events_after
        assert [(role, sha) for role, _, sha in refs_before] == [(role, sha) for role, _, sha in refs_after]
        assert not SpanLogRecord.objects.filter(attached_at__isnull=True).exists()
        assert not SpanLogRecord.objects.filter(event__isnull=False).exists()

    def test_re_sent_records_are_attached_once(self, client: Client, otlp_headers) -> None:
        after, before = (new_trace_id(), new_span_id()), (new_trace_id(), new_span_id())
        send_spans(llm_span(*after))
        for _ in range(2):
            send_logs(client, otlp_headers(), details(*after), details(*before))
        send_spans(llm_span(*before))
        send_logs(client, otlp_headers(), details(*after), details(*before))
        send_spans(llm_span(*before))

        for key in (after, before):
            events, refs = stored(*key)
            assert [event["name"] for event in events] == [DETAILS]
            assert len(refs) == 1

    def test_several_records_of_one_span_keep_their_own_payloads_in_time_order(
        self, client: Client, otlp_headers
    ) -> None:
        trace_id, span_id = new_trace_id(), new_span_id()
        spec = SpanSpec(trace_id, span_id, "chat", events=[("gen_ai.content.prompt", {"gen_ai.prompt": "own"})])
        send_spans(spec)
        later = details(trace_id, span_id, "second prompt", time_ns=spec.start_ns + 20)
        earlier = details(trace_id, span_id, "first prompt", time_ns=spec.start_ns + 10)

        send_logs(client, otlp_headers(), later)
        send_logs(client, otlp_headers(), earlier)

        events, refs = stored(trace_id, span_id)
        assert [event["name"] for event in events] == ["gen_ai.content.prompt", DETAILS, DETAILS]
        assert [event["time_unix_nano"] for event in events] == [spec.start_ns + offset for offset in (0, 10, 20)]
        assert [role for role, _, _ in refs] == ["messages", "messages", "prompt"]
        assert len({sha for _, _, sha in refs}) == 3

    def test_the_event_name_attribute_and_the_message_events_with_a_body(
        self, client: Client, otlp_headers, engineer
    ) -> None:
        trace_id, span_id = new_trace_id(), new_span_id()
        send_spans(llm_span(trace_id, span_id))

        send_logs(
            client,
            otlp_headers(),
            LogSpec(trace_id, span_id, "gen_ai.user.message", body={"content": PROMPT}, name_as_attribute=True),
            LogSpec(trace_id, span_id, "gen_ai.choice", body={"index": 0, "message": {"content": COMPLETION}}),
        )

        events, refs = stored(trace_id, span_id)
        assert sorted(event["name"] for event in events) == ["gen_ai.choice", "gen_ai.user.message"]
        assert all("body" not in event["attributes"] for event in events)
        assert all("event.name" not in event["attributes"] for event in events)
        assert [role for role, _, _ in refs] == ["messages", "messages"]
        client.force_login(engineer)
        contents = [client.get(f"/api/payloads/sha256:{sha}").json()["content"] for _, _, sha in refs]
        assert any("prompt-logs" in content and SECRET not in content for content in contents)
        assert any(COMPLETION in content for content in contents)


@pytest.mark.django_db
class TestOtherRecords:
    def test_a_record_with_a_span_context_becomes_a_redacted_span_event(self, client: Client, otlp_headers) -> None:
        trace_id, span_id = new_trace_id(), new_span_id()
        send_spans(llm_span(trace_id, span_id))

        send_logs(
            client,
            otlp_headers(),
            LogSpec(
                trace_id,
                span_id,
                body=f"retrying with Authorization: Bearer {SECRET}",
                attributes={"http.response.status_code": 429},
                severity_text="WARN",
            ),
        )

        [event] = Span.objects.get(trace_id=trace_id, span_id=span_id).events
        assert event["name"] == "log"
        assert event["attributes"]["http.response.status_code"] == 429
        assert event["attributes"]["log.severity_text"] == "WARN"
        assert event["attributes"]["body"].startswith("retrying with Authorization: Bearer [REDACTED:")
        assert SECRET not in json.dumps(event)
        assert not SpanPayloadRef.objects.exists()

    def test_records_that_belong_to_no_span_are_counted_as_rejected(self, client: Client, otlp_headers) -> None:
        trace_id, span_id = new_trace_id(), new_span_id()
        send_spans(llm_span(trace_id, span_id))

        reply = send_logs(
            client,
            otlp_headers(),
            LogSpec("", "", body="service started"),
            LogSpec("", "", DETAILS, body="no context either"),
            LogSpec(trace_id, "", body="a trace but no span"),
            LogSpec(trace_id, span_id, body="placed"),
        )

        assert reply.partial_success.rejected_log_records == 3
        assert "3 log record(s) rejected" in reply.partial_success.error_message
        assert "2 record(s): no span context" in reply.partial_success.error_message
        assert [event["attributes"]["body"] for event in Span.objects.get(span_id=span_id).events] == ["placed"]


@pytest.mark.django_db
class TestTransport:
    @pytest.mark.parametrize("encoding", ["", "gzip", "zstd"])
    def test_otlp_json_with_hex_ids_and_compression(self, client: Client, otlp_headers, encoding: str) -> None:
        trace_id, span_id = new_trace_id(), new_span_id()
        send_spans(llm_span(trace_id, span_id))
        document = {
            "resourceLogs": [
                {
                    "scopeLogs": [
                        {
                            "logRecords": [
                                {
                                    "timeUnixNano": "1767225600000000000",
                                    "traceId": trace_id,
                                    "spanId": span_id,
                                    "eventName": "gen_ai.user.message",
                                    "body": {
                                        "kvlistValue": {
                                            "values": [{"key": "content", "value": {"stringValue": PROMPT}}]
                                        }
                                    },
                                },
                                {"body": {"stringValue": "no context"}},
                            ]
                        }
                    ]
                }
            ]
        }
        body = json.dumps(document).encode()
        compressed = {"": body, "gzip": gzip.compress(body), "zstd": zstandard.ZstdCompressor().compress(body)}
        headers = otlp_headers("application/json", **({"Content-Encoding": encoding} if encoding else {}))

        response = post_logs(client, compressed[encoding], headers)

        assert (response.status_code, response["Content-Type"]) == (200, "application/json")
        assert response.json() == {
            "partialSuccess": {
                "rejectedLogRecords": "1",
                "errorMessage": "1 log record(s) rejected: 1 record(s): no span context (trace_id and span_id), "
                "so it belongs to no span",
            }
        }
        events, [(role, _, _)] = stored(trace_id, span_id)
        assert ([event["name"] for event in events], role) == (["gen_ai.user.message"], "messages")

    def test_errors_answer_like_traces(self, client: Client, otlp_headers, settings) -> None:
        body = logs_request([LogSpec(new_trace_id(), new_span_id(), body="x" * 2000)]).SerializeToString()

        assert post_logs(client, body, {"Content-Type": "application/x-protobuf"}).status_code == 401
        assert post_logs(client, body, otlp_headers("text/plain")).status_code == 415
        garbage = post_logs(client, b"\xff\xfe not protobuf", otlp_headers())
        assert garbage.status_code == 400
        assert "ExportLogsServiceRequest" in Status.FromString(garbage.content).message
        settings.OTLP_MAX_SPANS_PER_REQUEST = 0
        too_many = post_logs(client, body, otlp_headers())
        assert too_many.status_code == 413
        assert "1 log records, over the limit of 0" in Status.FromString(too_many.content).message
        settings.OTLP_MAX_BODY_BYTES = 1000
        assert post_logs(client, body, otlp_headers()).status_code == 413
        assert client.get(URL, headers=otlp_headers()).status_code == 405
        assert not SpanLogRecord.objects.exists()


@pytest.mark.django_db
class TestPendingStore:
    def test_bounded_and_expired_by_retention(self, client: Client, otlp_headers, settings) -> None:
        settings.OTLP_LOGS_PENDING_MAX_RECORDS = 1
        settings.OTLP_LOGS_PENDING_MINUTES = 30
        stored_span = (new_trace_id(), new_span_id())
        send_spans(llm_span(*stored_span))

        reply = send_logs(
            client,
            otlp_headers(),
            details(new_trace_id(), new_span_id()),
            details(new_trace_id(), new_span_id()),
            details(*stored_span),
        )

        assert reply.partial_success.rejected_log_records == 1
        assert "store of records waiting for their span is full" in reply.partial_success.error_message
        assert SpanLogRecord.objects.filter(attached_at__isnull=True).count() == 1
        assert len(stored(*stored_span)[0]) == 1

        assert expire_pending_records(timezone.now() + timedelta(minutes=29)) == 0
        assert expire_pending_records(timezone.now() + timedelta(minutes=31)) == 1
        later = send_logs(client, otlp_headers(), details(new_trace_id(), new_span_id()))
        assert not later.HasField("partial_success")

    def test_attached_records_go_with_their_trace(self, client: Client, otlp_headers) -> None:
        trace_id, span_id = new_trace_id(), new_span_id()
        send_spans(llm_span(trace_id, span_id))
        send_logs(client, otlp_headers(), details(trace_id, span_id))

        retention.expire_trace_metadata(now=timezone.now() + timedelta(days=30), days=7)

        assert not Trace.objects.exists()
        assert not SpanLogRecord.objects.exists()


@pytest.mark.django_db
def test_strict_mode_drops_unlisted_attributes_and_masks_personal_data(client: Client, otlp_headers, settings) -> None:
    settings.REDACTION_MODE = "strict"
    trace_id, span_id = new_trace_id(), new_span_id()
    send_spans(llm_span(trace_id, span_id))

    send_logs(
        client,
        otlp_headers(),
        details(trace_id, span_id, prompt="mail me at ada@example.com"),
        LogSpec(trace_id, span_id, body="user ada@example.com", attributes={"user.email": "ada@example.com"}),
    )

    events, [(_, _, sha256)] = stored(trace_id, span_id)
    assert "ada@example.com" not in json.dumps(events)
    plain = next(event for event in events if event["name"] == "log")
    assert plain["attributes"]["tracefoundry.redaction.dropped_attributes"] == 2  # body and user.email
    genai = next(event for event in events if event["name"] == DETAILS)
    assert genai["attributes"]["gen_ai.request.model"] == "gpt-4o-mini"
    assert SpanLogRecord.objects.filter(attached_at__isnull=False).count() == 2
    content = payload_content(sha256).content
    assert ("[REDACTED:email]" in content, "ada@example.com" in content) == (True, False)

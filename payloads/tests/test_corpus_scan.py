"""The secret corpus planted in every string a span carries (name, status, attributes at any depth and under
secret names, exception and error fields, events, links, resource, scope, payloads), ingested through the real
OTLP endpoint under each mode: no credential (standard, strict) and no personal data (strict) is in any table,
blob, log line, or API answer or bundle of a viewer, an engineer or an admin; under `off` the same scan finds
them all. A viewer cannot confirm a guess of a payload's content by hashing candidates: no content hash is in
anything a viewer reads, though the engineer's answers show the content hash the guess would match."""

import hashlib
import json
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from payloads.tests.dumps import api_answers, blobs_dump, bundle_text, database_dump
from payloads.tests.secret_corpus import CREDENTIAL_CASES, PERSONAL_CASES, SecretCase

TRACE_ID = "7c1f5e2a9b3d4c6e8f0a1b2c3d4e5f60"
LLM_SPAN_ID = "a1b2c3d4e5f60718"
TOOL_SPAN_ID = "a1b2c3d4e5f60719"
CREDENTIALS = "\n".join(case.text for case in CREDENTIAL_CASES)
PERSONAL = "\n".join(case.text for case in PERSONAL_CASES)
EVERYTHING = f"{CREDENTIALS}\n{PERSONAL}"
API_KEY = next(case.secret for case in CREDENTIAL_CASES if case.masked_by == "openai_api_key")
AWS_SECRET = next(case.secret for case in CREDENTIAL_CASES if case.text == case.secret)
EMAIL = next(case.secret for case in PERSONAL_CASES if case.masked_by == "email")
TOOL_RESULT = "42"


def _needles(cases: list[SecretCase]) -> list[str]:
    """Each secret, and a middle part of it, so that a partly masked secret is found too."""
    return [part for case in cases for part in (case.secret, case.secret[len(case.secret) // 4 :][:12])]


CREDENTIAL_NEEDLES = _needles(CREDENTIAL_CASES)
PERSONAL_NEEDLES = _needles(PERSONAL_CASES)


def _value(value: Any) -> AnyValue:
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, list):
        result = AnyValue()
        result.array_value.values.extend(_value(item) for item in value)
        return result
    result = AnyValue()
    result.kvlist_value.values.extend(KeyValue(key=k, value=_value(v)) for k, v in value.items())
    return result


def _attributes(target: Any, values: dict[str, Any]) -> None:
    target.extend(KeyValue(key=key, value=_value(value)) for key, value in values.items())


def corpus_request() -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    _attributes(
        resource_spans.resource.attributes,
        {"service.name": "corpus-agent", "service.instance.id": f"i-{API_KEY}", "host.name": EVERYTHING},
    )
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name, scope_spans.scope.version = f"corpus {API_KEY}", EMAIL
    _attributes(scope_spans.scope.attributes, {"scope.note": EVERYTHING, "password": AWS_SECRET})

    llm = scope_spans.spans.add()
    llm.trace_id, llm.span_id = bytes.fromhex(TRACE_ID), bytes.fromhex(LLM_SPAN_ID)
    llm.name = f"chat gpt-4o {API_KEY} {EMAIL}"
    llm.kind = 3
    llm.start_time_unix_nano, llm.end_time_unix_nano = 1_700_000_000_000_000_000, 1_700_000_001_000_000_000
    llm.status.code = 2
    llm.status.message = f"provider error for {API_KEY} ({EMAIL})"
    _attributes(
        llm.attributes,
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "exception.message": f"auth failed with {API_KEY} for {EMAIL}",
            "exception.stacktrace": EVERYTHING,
            "error.type": AWS_SECRET,
            "password": "correct horse battery staple",
            "aws.secret_access_key": AWS_SECRET,
            "http.request.header.authorization": [f"Bearer {API_KEY}"],
            "app.config": {"db": {"password": 123456, "host": "db.internal"}, "notes": [EVERYTHING]},
            "app.note": EVERYTHING,
            "input.value": EVERYTHING,
            "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": EVERYTHING}]}]),
        },
    )
    user_event = llm.events.add()
    user_event.name, user_event.time_unix_nano = "gen_ai.user.message", 1_700_000_000_100_000_000
    _attributes(user_event.attributes, {"content": EVERYTHING})
    exception_event = llm.events.add()
    exception_event.name, exception_event.time_unix_nano = f"exception {API_KEY}", 1_700_000_000_200_000_000
    _attributes(
        exception_event.attributes,
        {"exception.type": AWS_SECRET, "exception.message": EVERYTHING, "exception.stacktrace": EVERYTHING},
    )
    link = llm.links.add()
    link.trace_id, link.span_id = bytes.fromhex("0af7651916cd43dd8448eb211c80319c"), bytes.fromhex("b7ad6b7169203331")
    _attributes(link.attributes, {"link.note": EVERYTHING, "error.type": AWS_SECRET})

    tool = scope_spans.spans.add()
    tool.trace_id, tool.span_id, tool.parent_span_id = (
        bytes.fromhex(TRACE_ID),
        bytes.fromhex(TOOL_SPAN_ID),
        bytes.fromhex(LLM_SPAN_ID),
    )
    tool.name = "execute_tool lookup"
    tool.start_time_unix_nano, tool.end_time_unix_nano = 1_700_000_000_300_000_000, 1_700_000_000_400_000_000
    _attributes(
        tool.attributes,
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "lookup",
            "gen_ai.tool.call.arguments": json.dumps({"query": EVERYTHING, "api_key": API_KEY}),
            "tracefoundry.payload.tool_result": TOOL_RESULT,
        },
    )
    return request


def _ingest(client: Client, otlp_headers: Callable[..., dict[str, str]]) -> None:
    response = client.post(
        "/otlp/v1/traces",
        corpus_request().SerializeToString(),
        content_type="application/x-protobuf",
        headers={"Authorization": otlp_headers()["Authorization"]},
    )
    assert response.status_code == 200
    assert response.content == b""


def _as(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def _everything_read(client: Client, viewer: User, engineer: User, admin: User) -> str:
    """What each role reads through the API, and the bundles each may export."""
    searches = [API_KEY, AWS_SECRET, EMAIL, "correct horse battery staple"]
    viewer_reads = api_answers(_as(client, viewer), TRACE_ID, searches) + bundle_text(
        client, TRACE_ID, include_payloads=False, redaction="strict"
    )
    engineer_reads = api_answers(_as(client, engineer), TRACE_ID, searches) + bundle_text(
        client, TRACE_ID, include_payloads=True, redaction="standard"
    )
    admin_reads = api_answers(_as(client, admin), TRACE_ID, searches) + bundle_text(
        client, TRACE_ID, include_payloads=True, redaction="off"
    )
    return "\n".join([viewer_reads, engineer_reads, admin_reads])


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["standard", "strict"])
@pytest.mark.parametrize("inline_max_bytes", [16384, 0], ids=["inline", "storage"])
def test_no_credential_of_the_corpus_is_stored_logged_or_answered(
    mode: str,
    inline_max_bytes: int,
    settings,
    client: Client,
    viewer,
    engineer,
    admin_user,
    otlp_headers,
    everything_logged,
) -> None:
    settings.REDACTION_MODE = mode
    settings.PAYLOAD_INLINE_MAX_BYTES = inline_max_bytes
    _ingest(client, otlp_headers)
    read = _everything_read(client, viewer, engineer, admin_user)
    everywhere = "\n".join([database_dump(), blobs_dump(), read, everything_logged.text])

    assert "[REDACTED:secret_key]" in everywhere
    assert "[REDACTED:aws_secret_access_key]" in read
    assert [needle for needle in CREDENTIAL_NEEDLES if needle in everywhere] == []


@pytest.mark.django_db
def test_strict_keeps_personal_data_of_the_corpus_from_everything(
    settings, client: Client, viewer, engineer, admin_user, otlp_headers, everything_logged
) -> None:
    settings.REDACTION_MODE = "strict"
    _ingest(client, otlp_headers)
    read = _everything_read(client, viewer, engineer, admin_user)
    everywhere = "\n".join([database_dump(), blobs_dump(), read, everything_logged.text])

    assert "[REDACTED:email]" in read
    assert [needle for needle in PERSONAL_NEEDLES if needle in everywhere] == []


@pytest.mark.django_db
def test_off_keeps_the_corpus_so_the_scan_can_see_it(settings, client: Client, otlp_headers) -> None:
    settings.REDACTION_MODE = "off"
    _ingest(client, otlp_headers)
    stored = database_dump() + blobs_dump()

    assert [needle for needle in CREDENTIAL_NEEDLES + PERSONAL_NEEDLES if needle not in stored] == []


_HEX64 = re.compile(r"[0-9a-f]{64}")


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["standard", "strict"])
def test_a_viewer_cannot_confirm_a_guess_of_a_payload_by_hashing_it(
    mode: str, settings, client: Client, viewer, engineer, otlp_headers
) -> None:
    settings.REDACTION_MODE = mode
    _ingest(client, otlp_headers)
    guesses = {hashlib.sha256(str(number).encode()).hexdigest() for number in range(100_000)}
    viewer_reads = api_answers(_as(client, viewer), TRACE_ID, [TOOL_RESULT]) + bundle_text(
        client, TRACE_ID, include_payloads=False, redaction="strict"
    )
    engineer_reads = api_answers(_as(client, engineer), TRACE_ID, [TOOL_RESULT])

    assert "tracefoundry.payload.tool_result_ref" in viewer_reads
    assert set(_HEX64.findall(viewer_reads)) & guesses == set()
    # The same search finds the hash of "42" in what an engineer reads (the content endpoint shows it).
    assert set(_HEX64.findall(engineer_reads)) & guesses == {hashlib.sha256(TOOL_RESULT.encode()).hexdigest()}

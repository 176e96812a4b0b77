"""Planted secrets and personal data, ingested through the real OTLP endpoint under each redaction mode, are
absent from every table, every blob (inline in the database and in the payload storage, decompressed), every
log line and every payload answer (standard: credentials; strict: credentials and personal data), and present
under `off` (which proves the scan can see them, in both places a blob's bytes can be)."""

import logging

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client

from payloads.models import PayloadBlob, SpanPayloadRef
from payloads.tests.dumps import blobs_dump, database_dump
from payloads.tests.planted import CREDENTIAL_NEEDLES, PERSONAL_NEEDLES, TRACE_ID, planted_body
from traces.models import Span

ENCODINGS = ["protobuf", "json"]


def _places() -> set[str]:
    return {"inline" if key == "" else "storage" for key in PayloadBlob.objects.values_list("storage_key", flat=True)}


def _payload_answers(client: Client) -> str:
    answers = [
        client.get(f"/api/payloads/sha256:{sha}").content.decode()
        for sha in PayloadBlob.objects.values_list("sha256", flat=True)
    ]
    return "\n".join(answers)


def _ingest(client: Client, otlp_headers, encoding: str) -> None:
    body, content_type = planted_body(encoding)
    headers = otlp_headers(content_type)
    response = client.post(
        "/otlp/v1/traces",
        body,
        content_type=content_type,
        headers={"Authorization": headers["Authorization"]},
    )
    assert response.status_code == 200


@pytest.fixture(params=["inline", "storage"])
def blob_place(request: pytest.FixtureRequest, settings) -> str:
    """Where the planted payloads' bytes go: inline in their rows (default limit) or all to the storage."""
    settings.PAYLOAD_INLINE_MAX_BYTES = {"inline": 16384, "storage": 0}[request.param]
    return request.param


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("mode", ["standard", "strict"])
def test_credentials_are_stored_nowhere(
    mode: str, encoding: str, blob_place: str, settings, client: Client, engineer, otlp_headers, everything_logged
) -> None:
    settings.REDACTION_MODE = mode
    _ingest(client, otlp_headers, encoding)
    client.force_login(engineer)
    everywhere = "\n".join([database_dump(), blobs_dump(), _payload_answers(client), everything_logged.text])

    assert Span.objects.filter(trace_id=TRACE_ID).count() == 2
    # 7 named content keys and events, and role `other`: the long free text under app.note and app.nested.
    assert SpanPayloadRef.objects.filter(span__trace_id=TRACE_ID).count() == 8
    assert _places() == {blob_place}
    assert "[REDACTED:openai_api_key]" in everywhere
    assert "span(s) rejected" in everything_logged.text
    assert [needle for needle in CREDENTIAL_NEEDLES if needle in everywhere] == []


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_strict_also_removes_personal_data_and_unlisted_attributes(
    encoding: str, blob_place: str, settings, client: Client, engineer, otlp_headers, everything_logged
) -> None:
    settings.REDACTION_MODE = "strict"
    _ingest(client, otlp_headers, encoding)
    client.force_login(engineer)
    everywhere = "\n".join([database_dump(), blobs_dump(), _payload_answers(client), everything_logged.text])
    llm = Span.objects.get(trace_id=TRACE_ID, name__startswith="chat")

    assert _places() == {blob_place}
    assert [needle for needle in PERSONAL_NEEDLES if needle in everywhere] == []
    assert "[REDACTED:email]" in everywhere
    assert "app.note" not in llm.attributes
    assert "host.name" not in llm.resource_attributes
    # host.name (resource), link.note (link); app.note and app.nested are long free text: payload `other`
    assert llm.attributes["tracefoundry.redaction.dropped_attributes"] == 2


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_standard_keeps_personal_data(encoding: str, blob_place: str, settings, client: Client, otlp_headers) -> None:
    settings.REDACTION_MODE = "standard"
    _ingest(client, otlp_headers, encoding)
    everywhere = database_dump() + blobs_dump()

    assert _places() == {blob_place}
    assert [needle for needle in PERSONAL_NEEDLES if needle in everywhere] == PERSONAL_NEEDLES


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_off_stores_everything_so_the_scan_can_see_it(
    encoding: str, blob_place: str, settings, client: Client, otlp_headers
) -> None:
    settings.REDACTION_MODE = "off"
    _ingest(client, otlp_headers, encoding)
    database, blobs = database_dump(), blobs_dump()
    needles = CREDENTIAL_NEEDLES + PERSONAL_NEEDLES

    assert _places() == {blob_place}
    assert PayloadBlob.objects.filter(compression="zstd").exists()  # so the scan must decompress to see them
    assert [needle for needle in needles if needle in database] == needles
    assert [needle for needle in needles if needle in blobs] == needles


def test_every_model_table_is_part_of_the_dump(db: None) -> None:
    tables = set(connection.introspection.table_names())

    assert {model._meta.db_table for model in apps.get_models()} <= tables

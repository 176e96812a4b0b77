"""Schemathesis against the committed OpenAPI schema (frontend/openapi.yaml), as a viewer, an engineer and an
admin: cases that follow the schema and cases that break it, sent through Django's test client to the real
app and database. No answer may be a 500."""

import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st
from schemathesis.core import NotSet
from schemathesis.generation import GenerationMode

from testing.factories import agent_trace, export_request
from tracefoundry_site.tests import fuzzing
from traces.ingest import ingest_request

SCHEMA = schemathesis.openapi.from_path(Path(django_settings.BASE_DIR) / "frontend" / "openapi.yaml")
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]  # type: ignore[union-attr]  # the committed schema is valid (test_openapi_schema)
ROLE_FIXTURES = {"viewer": "viewer", "engineer": "engineer", "admin": "admin_user"}


def _field(value: Any) -> Any:
    # Django's multipart encoder takes strings and files only.
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return json.dumps(value)


def send(client: Client, case: Any) -> Any:
    path = case.formatted_path
    query = {key: _field(value) for key, value in (case.query or {}).items()}
    if case.method.upper() == "GET":
        return client.get(path, query)
    body = None if isinstance(case.body, NotSet) else case.body
    if case.media_type == "multipart/form-data" and isinstance(body, dict):
        data = {key: _field(value) for key, value in body.items()}
        if "bundle" in body:
            upload = io.BytesIO(_field(body["bundle"]).encode("utf-8", "surrogatepass"))
            upload.name = "bundle.zip"
            data["bundle"] = upload
        return client.post(path, data, QUERY_STRING="&".join(f"{k}={v}" for k, v in query.items()))
    media_type = case.media_type or "text/plain"
    if isinstance(body, bytes):
        raw = body
    elif "json" in media_type:
        raw = json.dumps(body).encode("utf-8", "surrogatepass")
    elif media_type == "application/x-www-form-urlencoded" and isinstance(body, dict):
        raw = urlencode({key: _field(value) for key, value in body.items()}).encode("utf-8", "surrogatepass")
    else:
        raw = str(body or "").encode("utf-8", "surrogatepass")
    return client.post(path, raw, content_type=media_type)


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(ROLE_FIXTURES))
@pytest.mark.parametrize("operation", OPERATIONS, ids=[operation.label for operation in OPERATIONS])
def test_no_input_makes_the_api_answer_500(operation: Any, role: str, request: pytest.FixtureRequest) -> None:
    ingest_request(export_request(agent_trace()))
    client = Client(raise_request_exception=False)
    client.force_login(request.getfixturevalue(ROLE_FIXTURES[role]))
    target = f"api {operation.label} as {role}"
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @fuzzing.http_fuzz_settings
    @given(case=cases)
    def no_500(case: Any) -> None:
        response = send(client, case)
        fuzzing.record(target, response.status_code, (case.formatted_path, case.query, case.body))

    no_500()

"""Ingest keys open `/otlp/v1/traces` and nothing else; user credentials do not open it."""

import base64

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from rest_framework.test import APIClient

from accounts.ingest_keys import authenticate_ingest_key
from accounts.models import IngestKey
from conftest import PASSWORD
from traces.models import Span as StoredSpan
from traces.models import Trace


def _one_span_body() -> bytes:
    span = Span(
        trace_id=bytes.fromhex("0af7651916cd43dd8448eb211c80319c"),
        span_id=bytes.fromhex("b7ad6b7169203331"),
        name="agent.run",
        start_time_unix_nano=1_700_000_000_000_000_000,
        end_time_unix_nano=1_700_000_001_000_000_000,
    )
    resource_spans = ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])
    resource_spans.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="agent")))
    return ExportTraceServiceRequest(resource_spans=[resource_spans]).SerializeToString()


def _post_otlp(authorization: str) -> int:
    response = Client().generic(
        "POST",
        "/otlp/v1/traces",
        _one_span_body(),
        content_type="application/x-protobuf",
        HTTP_AUTHORIZATION=authorization,
    )
    return response.status_code


@pytest.mark.django_db
def test_a_valid_ingest_key_stores_spans(ingest_key: str) -> None:
    assert _post_otlp(f"Bearer {ingest_key}") == 200
    assert Trace.objects.count() == 1
    assert IngestKey.objects.get().last_used_at is not None


@pytest.mark.django_db
def test_a_revoked_key_gets_401_and_stores_nothing(ingest_key: str) -> None:
    IngestKey.objects.get().revoke()

    assert _post_otlp(f"Bearer {ingest_key}") == 401
    assert Trace.objects.count() == 0
    assert StoredSpan.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization", ["Bearer tfi_unknown-key-that-was-never-issued", "Bearer ", "", "tfi_no-scheme"]
)
def test_an_unknown_or_missing_key_gets_401_and_stores_nothing(ingest_key: str, authorization: str) -> None:
    assert _post_otlp(authorization) == 401
    assert Trace.objects.count() == 0


@pytest.mark.django_db
def test_a_users_password_is_not_an_ingest_key(viewer: User) -> None:
    basic = base64.b64encode(f"{viewer.username}:{PASSWORD}".encode()).decode()

    assert _post_otlp(f"Bearer {PASSWORD}") == 401
    assert _post_otlp(f"Basic {basic}") == 401
    assert Trace.objects.count() == 0


@pytest.mark.django_db
def test_http_basic_carries_the_key_only_when_asked_for_and_only_as_password(ingest_key: str, viewer: User) -> None:
    def basic(credentials: str) -> str:
        return "Basic " + base64.b64encode(credentials.encode()).decode()

    assert authenticate_ingest_key(basic(f"pk-lf-anything:{ingest_key}"), basic=True) is not None
    assert authenticate_ingest_key(basic(f":{ingest_key}"), basic=True) is not None
    assert authenticate_ingest_key(basic(f"pk-lf-anything:{ingest_key}")) is None  # Bearer only by default
    assert authenticate_ingest_key(basic(f"{ingest_key}:"), basic=True) is None  # the user name is never the key
    assert authenticate_ingest_key(basic(f"{viewer.username}:{PASSWORD}"), basic=True) is None
    assert authenticate_ingest_key("Basic not base64!", basic=True) is None
    assert authenticate_ingest_key("Basic " + base64.b64encode(b"\xff:\xfe").decode(), basic=True) is None


@pytest.mark.django_db
@pytest.mark.parametrize("scheme", ["Bearer", "Token"])
def test_an_ingest_key_is_not_an_api_login(ingest_key: str, scheme: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {ingest_key}")

    assert client.get("/api/me").status_code == 401
    assert client.get("/api/traces").status_code == 401


@pytest.mark.django_db
def test_an_ingest_key_is_not_a_password(ingest_key: str, viewer: User) -> None:
    client = APIClient()
    basic = base64.b64encode(f"{viewer.username}:{ingest_key}".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {basic}")

    assert client.get("/api/me").status_code == 401


@pytest.mark.django_db
def test_revoking_sets_the_time_and_keeps_the_row(ingest_key: str) -> None:
    key = IngestKey.objects.get()
    before = timezone.now()

    key.revoke()

    assert IngestKey.objects.active().count() == 0
    revoked_at = IngestKey.objects.get().revoked_at
    assert revoked_at is not None
    assert revoked_at >= before

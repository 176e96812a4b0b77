"""The three ways into `/api/`: session (CSRF enforced on unsafe methods), HTTP Basic, API tokens."""

import base64

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from conftest import PASSWORD


@pytest.mark.django_db
def test_anonymous_callers_get_401_with_a_token_challenge() -> None:
    response = APIClient().get("/api/me")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
def test_an_api_token_signs_in(engineer: User) -> None:
    token = Token.objects.create(user=engineer)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = client.get("/api/me")

    assert response.status_code == 200
    assert response.json()["role"] == "engineer"


@pytest.mark.django_db
def test_a_wrong_api_token_gets_401(engineer: User) -> None:
    Token.objects.create(user=engineer)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

    assert client.get("/api/me").status_code == 401


@pytest.mark.django_db
def test_http_basic_signs_in(viewer: User) -> None:
    client = APIClient()
    credentials = base64.b64encode(f"{viewer.username}:{PASSWORD}".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {credentials}")

    response = client.get("/api/traces")

    assert response.status_code == 200


@pytest.mark.django_db
def test_a_session_needs_the_csrf_token_for_unsafe_methods(viewer: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")
    csrf = client.cookies["csrftoken"].value
    client.post("/accounts/login/", {"username": viewer.username, "password": PASSWORD, "csrfmiddlewaretoken": csrf})
    session_csrf = client.cookies["csrftoken"].value

    without_token = client.post("/api/me")
    with_token = client.post("/api/me", HTTP_X_CSRFTOKEN=session_csrf)

    assert without_token.status_code == 403
    assert "CSRF" in without_token.json()["detail"]
    assert with_token.status_code == 405

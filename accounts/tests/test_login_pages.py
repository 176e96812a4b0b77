"""The login and logout pages."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from conftest import PASSWORD


@pytest.mark.django_db
def test_the_login_page_follows_the_system_theme() -> None:
    response = Client().get("/accounts/login/?next=/traces")
    content = response.content.decode()

    assert response.status_code == 200
    assert "prefers-color-scheme: dark" in content
    assert 'name="next" value="/traces"' in content
    assert 'name="csrfmiddlewaretoken"' in content


@pytest.mark.django_db
def test_a_wrong_password_is_refused_on_the_page(viewer: User) -> None:
    response = Client().post("/accounts/login/", {"username": viewer.username, "password": "wrong-password-1"})

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


@pytest.mark.django_db
def test_logout_is_a_post(viewer: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer)

    page = client.get("/accounts/logout/")
    still_signed_in = client.get("/api/me").status_code
    csrf = client.cookies["csrftoken"].value
    response = client.post("/accounts/logout/", {"csrfmiddlewaretoken": csrf})

    assert page.status_code == 200
    assert b'method="post"' in page.content
    assert still_signed_in == 200
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert client.get("/api/me").status_code == 401


@pytest.mark.django_db
def test_sessions_expire(viewer: User, settings: object) -> None:
    client = Client()
    client.post("/accounts/login/", {"username": viewer.username, "password": PASSWORD})

    assert 0 < client.session.get_expiry_age() <= 60 * 60 * 12
    assert client.cookies["sessionid"]["max-age"] == client.session.get_expiry_age()

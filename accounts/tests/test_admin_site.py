"""Only admins reach /admin/; ingest keys are shown once and revocable there; traces, spans read-only."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.ingest_keys import authenticate_ingest_key
from accounts.models import IngestKey
from conftest import PASSWORD
from traces.models import Trace


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_login_page() -> None:
    response = Client().get("/admin/", follow=True)

    assert response.redirect_chain[-1] == ("/accounts/login/?next=/admin/", 302)
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["outsider", "viewer", "engineer"])
def test_non_admins_get_403(persona: str, request: pytest.FixtureRequest) -> None:
    client = _signed_in(request.getfixturevalue(persona))

    page = client.get("/admin/", follow=True)
    assert page.status_code == 403
    # The styled page of the login screens, saying why and offering a way back, not a bare "403 Forbidden".
    assert 'data-testid="forbidden"' in page.content.decode()
    assert "Only admins may use the admin site." in page.content.decode()
    assert '<a href="/">Back to the explorer</a>' in page.content.decode()
    assert client.get("/admin/auth/user/").status_code in (302, 403)
    assert client.get("/admin/auth/user/", follow=True).status_code == 403


@pytest.mark.django_db
def test_staff_status_alone_does_not_open_the_admin(viewer: User) -> None:
    viewer.is_staff = True
    viewer.save()

    assert _signed_in(viewer).get("/admin/", follow=True).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["admin_user", "superuser"])
def test_admins_reach_users_keys_tokens_and_traces(persona: str, request: pytest.FixtureRequest) -> None:
    client = _signed_in(request.getfixturevalue(persona))

    pages = [
        "/admin/",
        "/admin/auth/user/",
        "/admin/auth/group/",
        "/admin/accounts/ingestkey/",
        "/admin/authtoken/tokenproxy/",
        "/admin/traces/trace/",
        "/admin/traces/span/",
    ]

    assert {page: client.get(page).status_code for page in pages} == dict.fromkeys(pages, 200)


@pytest.mark.django_db
def test_the_admins_login_page_is_the_throttled_one() -> None:
    response = Client().get("/admin/login/?next=/admin/auth/user/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/auth/user/"


@pytest.mark.django_db
def test_an_admin_group_member_signs_in_through_the_form_and_reaches_the_admin(admin_user: User) -> None:
    client = Client()

    response = client.post(
        "/accounts/login/",
        {"username": admin_user.username, "password": PASSWORD, "next": "/admin/"},
        follow=True,
    )

    assert response.status_code == 200
    assert response.request["PATH_INFO"] == "/admin/"
    assert b"Ingest keys" in response.content


@pytest.mark.django_db
def test_creating_an_ingest_key_shows_it_once(admin_user: User) -> None:
    client = _signed_in(admin_user)

    response = client.post("/admin/accounts/ingestkey/add/", {"name": "prod-collector"}, follow=True)
    shown = [str(message) for message in response.context["messages"]]
    raw_key = shown[0].split(": ", 1)[1].split(" ", 1)[0]
    key = IngestKey.objects.get(name="prod-collector")

    assert response.redirect_chain == [("/admin/accounts/ingestkey/", 302)]
    assert raw_key.startswith("tfi_")
    assert authenticate_ingest_key(f"Bearer {raw_key}") == key
    assert raw_key not in client.get(f"/admin/accounts/ingestkey/{key.pk}/change/").content.decode()
    assert raw_key not in client.get("/admin/accounts/ingestkey/").content.decode()


@pytest.mark.django_db
def test_the_revoke_action_revokes(admin_user: User, ingest_key: str) -> None:
    key = IngestKey.objects.get()

    response = _signed_in(admin_user).post(
        "/admin/accounts/ingestkey/", {"action": "revoke", "_selected_action": [str(key.pk)]}
    )

    assert response.status_code == 302
    assert authenticate_ingest_key(f"Bearer {ingest_key}") is None
    assert IngestKey.objects.get().revoked_at is not None


@pytest.mark.django_db
def test_the_user_list_shows_roles(admin_user: User, viewer: User) -> None:
    content = _signed_in(admin_user).get("/admin/auth/user/").content.decode()

    assert "vera-viewer" in content
    assert '<td class="field-roles">viewer</td>' in content


@pytest.mark.django_db
def test_an_admin_creates_a_user_with_a_role_in_one_step(admin_user: User) -> None:
    response = _signed_in(admin_user).post(
        "/admin/auth/user/add/",
        {
            "username": "new-viewer",
            "usable_password": "true",
            "password1": "a-Long-enough-pass-9",
            "password2": "a-Long-enough-pass-9",
            "role": "viewer",
        },
    )

    assert response.status_code == 302
    assert list(User.objects.get(username="new-viewer").groups.values_list("name", flat=True)) == ["viewer"]


@pytest.mark.django_db
@pytest.mark.parametrize("role", [{}, {"role": ""}, {"role": "superhero"}])
def test_the_add_user_form_requires_exactly_one_role(admin_user: User, role: dict[str, str]) -> None:
    client = _signed_in(admin_user)
    form = client.get("/admin/auth/user/add/").content.decode()
    assert form.count('type="radio" name="role"') == 3
    assert 'name="groups"' not in form

    data = {"username": "no-role", "usable_password": "true", "password1": "a-Long-enough-pass-9"}
    data["password2"] = data["password1"]
    response = client.post("/admin/auth/user/add/", {**data, **role})

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not User.objects.filter(username="no-role").exists()


@pytest.mark.django_db
def test_the_admin_refuses_a_weak_password(admin_user: User) -> None:
    response = _signed_in(admin_user).post(
        "/admin/auth/user/add/",
        {
            "username": "weak",
            "usable_password": "true",
            "password1": "password",
            "password2": "password",
        },
    )

    assert response.status_code == 200
    assert not User.objects.filter(username="weak").exists()


@pytest.mark.django_db
def test_traces_are_read_only_in_the_admin(admin_user: User) -> None:
    trace = Trace.objects.create(trace_id="0af7651916cd43dd8448eb211c80319c", service="agent", root_span_name="run")
    client = _signed_in(admin_user)

    listing = client.get("/admin/traces/trace/").content.decode()
    detail = client.get(f"/admin/traces/trace/{trace.pk}/change/")

    assert "0af7651916cd43dd8448eb211c80319c" in listing
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
    assert client.get("/admin/traces/trace/add/").status_code == 403
    assert client.get(f"/admin/traces/trace/{trace.pk}/delete/").status_code == 403
    assert client.post(f"/admin/traces/trace/{trace.pk}/change/", {"service": "x"}).status_code == 403
    assert Trace.objects.get().service == "agent"

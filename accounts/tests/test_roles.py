"""Role groups hold exactly the permissions of the DESIGN.md table, stay so after `migrate`, and `/api/me`
reports each persona's role and rights."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from accounts.permissions import CanExportTrace
from accounts.roles import Capability, export_requirements
from accounts.tests.conftest import PERSONA_FIXTURES
from testing.access_table import ADMIN, ENGINEER, NO_GROUP, SUPERUSER, VIEWER


def _perms(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


@pytest.mark.django_db
def test_viewer_and_engineer_groups_hold_exactly_their_permissions() -> None:
    assert _perms("viewer") == {"traces.view_trace", "traces.view_span", "bundles.export_bundle"}
    assert _perms("engineer") == {
        "traces.view_trace",
        "traces.view_span",
        "bundles.export_bundle",
        "bundles.export_with_payloads",
        "bundles.import_bundle",
        "bundles.dry_replay",
        "payloads.view_payload_content",
    }


@pytest.mark.django_db
def test_admin_group_holds_every_permission() -> None:
    every = {f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")}

    assert _perms("admin") == every
    assert {
        "bundles.export_unredacted",
        "accounts.use_admin_site",
        "auth.change_user",
        "accounts.add_ingestkey",
    } <= every


@pytest.mark.django_db
def test_custom_permissions_are_real_rows() -> None:
    permission = Permission.objects.get(content_type__app_label="payloads", codename="view_payload_content")

    assert permission.name == "Can read payload contents"


@pytest.mark.django_db(transaction=True)
def test_migrate_puts_role_groups_back_in_line() -> None:
    viewer = Group.objects.get(name="viewer")
    viewer.permissions.add(Permission.objects.get(content_type__app_label="bundles", codename="export_unredacted"))
    viewer.permissions.remove(Permission.objects.get(content_type__app_label="traces", codename="view_trace"))
    Group.objects.get(name="engineer").delete()

    call_command("migrate", verbosity=0)

    assert _perms("viewer") == {"traces.view_trace", "traces.view_span", "bundles.export_bundle"}
    assert "payloads.view_payload_content" in _perms("engineer")


def _me(persona: str, role: str | None, allowed: set[str]) -> dict[str, object]:
    return {
        "username": persona,
        "role": role,
        "is_superuser": role == "admin" and persona == "sam-superuser",
        "permissions": {capability.value: capability.value in allowed for capability in Capability},
    }


VIEWER_RIGHTS = {"view_traces", "export_bundles"}
ENGINEER_RIGHTS = VIEWER_RIGHTS | {
    "read_payload_content",
    "export_with_payloads",
    "import_bundles",
    "dry_replay",
}
ADMIN_RIGHTS = {capability.value for capability in Capability}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        (NO_GROUP, _me("olaf-outsider", None, set())),
        (VIEWER, _me("vera-viewer", "viewer", VIEWER_RIGHTS)),
        (ENGINEER, _me("erin-engineer", "engineer", ENGINEER_RIGHTS)),
        (ADMIN, _me("ada-admin", "admin", ADMIN_RIGHTS)),
        (SUPERUSER, _me("sam-superuser", "admin", ADMIN_RIGHTS)),
    ],
)
def test_me_reports_role_and_rights(
    persona: str, expected: dict[str, object], client_as: Callable[[str], APIClient]
) -> None:
    response = client_as(persona).get("/api/me")

    assert response.status_code == 200
    assert response.json() == expected


@pytest.mark.django_db
def test_a_user_in_two_role_groups_has_the_higher_role(viewer: User) -> None:
    viewer.groups.add(Group.objects.get(name="engineer"))
    client = APIClient()
    client.force_login(viewer)

    body = client.get("/api/me").json()

    assert body["role"] == "engineer"
    assert body["permissions"]["read_payload_content"] is True


@pytest.mark.django_db
def test_an_inactive_user_cannot_use_the_api(viewer: User) -> None:
    client = APIClient()
    client.force_login(viewer)
    User.objects.filter(pk=viewer.pk).update(is_active=False)

    assert client.get("/api/me").status_code == 401


@pytest.mark.parametrize(
    ("include_payloads", "redaction", "needed"),
    [
        (False, "strict", {"export_bundles"}),
        (True, "strict", {"export_bundles", "export_with_payloads"}),
        (False, "standard", {"export_bundles", "export_with_payloads"}),
        (True, "standard", {"export_bundles", "export_with_payloads"}),
        (False, "off", {"export_bundles", "export_with_payloads", "export_unredacted"}),
        (True, "off", {"export_bundles", "export_with_payloads", "export_unredacted"}),
        (False, "OFF", {"export_bundles", "export_with_payloads", "export_unredacted"}),
        (False, "", {"export_bundles", "export_with_payloads", "export_unredacted"}),
    ],
)
def test_export_requirements_follow_the_role_table(include_payloads: bool, redaction: str, needed: set[str]) -> None:
    assert {c.value for c in export_requirements(include_payloads, redaction)} == needed


class _ExportProbe(APIView):
    """Stands in for the export endpoint: answers 200 to whoever CanExportTrace lets through."""

    permission_classes = [CanExportTrace]

    def post(self, request: Request) -> Response:
        return Response({"ok": True})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "body", "expected_status"),
    [
        (VIEWER, {}, 200),
        (VIEWER, {"include_payloads": False, "redaction": "strict"}, 200),
        (VIEWER, {"include_payloads": True, "redaction": "strict"}, 403),
        (VIEWER, {"include_payloads": False, "redaction": "standard"}, 403),
        (VIEWER, {"include_payloads": "true"}, 403),
        (VIEWER, {"include_payloads": "no", "redaction": "strict"}, 200),
        (VIEWER, {"include_payloads": "maybe"}, 403),
        (VIEWER, {"redaction": ["strict"]}, 403),
        (ENGINEER, {"include_payloads": True, "redaction": "standard"}, 200),
        (ENGINEER, {"include_payloads": True, "redaction": "off"}, 403),
        (ADMIN, {"include_payloads": True, "redaction": "off"}, 200),
        (NO_GROUP, {}, 403),
    ],
)
def test_export_permission_depends_on_the_body(
    persona: str, body: dict[str, object], expected_status: int, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(PERSONA_FIXTURES[persona])
    http_request = APIRequestFactory().post("/api/traces/x/export", body, format="json")
    force_authenticate(http_request, user=user)

    response = _ExportProbe.as_view()(http_request)

    assert response.status_code == expected_status


@pytest.mark.django_db
def test_permissions_of_user_and_groups_are_read_in_one_query(viewer: User, django_assert_num_queries: Any) -> None:
    viewer.user_permissions.add(Permission.objects.get(codename="dry_replay"))
    fresh = User.objects.get(pk=viewer.pk)

    with django_assert_num_queries(1):
        answers = [
            fresh.has_perm("traces.view_trace"),
            fresh.has_perm("bundles.dry_replay"),
            fresh.has_perm("payloads.view_payload_content"),
        ]

    assert answers == [True, True, False]

"""The roles of TraceFoundry and what each may do: the one policy module every permission check calls.

Roles are Django groups (`viewer`, `engineer`, `admin`). What a role may do is expressed as real Django
permissions granted to its group (kept in sync by `accounts.role_permissions` on every `migrate`), so a check
is `user.has_perm(...)`: superusers pass every check and therefore act as admin, inactive users and users in
no group pass none. `CAPABILITY_PERMISSIONS` maps each capability the product talks about to the permission
that grants it; `ROLE_CAPABILITIES` is the DESIGN.md role table.

Known limit: a permission granted to a user directly (not through a group) also counts; that is Django's
model and lets an admin make a one-off exception in /admin/.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.db import models

from payloads.contracts import RedactionMode


class Role(models.TextChoices):
    VIEWER = "viewer"
    ENGINEER = "engineer"
    ADMIN = "admin"


class Capability(StrEnum):
    """Something a user may or may not do; the values are the keys of `permissions` in `GET /api/me`."""

    VIEW_TRACES = "view_traces"
    READ_PAYLOAD_CONTENT = "read_payload_content"
    EXPORT_BUNDLES = "export_bundles"
    EXPORT_WITH_PAYLOADS = "export_with_payloads"
    EXPORT_UNREDACTED = "export_unredacted"
    IMPORT_BUNDLES = "import_bundles"
    DRY_REPLAY = "dry_replay"
    ADMIN_SITE = "admin_site"


@dataclass(frozen=True)
class CustomPermission:
    """A permission no model declares, stored on a content type of its own (`app_label.model`)."""

    app_label: str
    model: str
    codename: str
    name: str


# payloads and bundles hold no model these permissions could hang on, so each app gets a model-less
# content type named for what the permissions guard.
CUSTOM_PERMISSIONS: tuple[CustomPermission, ...] = (
    CustomPermission("payloads", "payloadcontent", "view_payload_content", "Can read payload contents"),
    CustomPermission("bundles", "bundle", "export_bundle", "Can export bundles without payloads, strictly redacted"),
    CustomPermission("bundles", "bundle", "export_with_payloads", "Can export bundles with payloads"),
    CustomPermission("bundles", "bundle", "export_unredacted", "Can export bundles with redaction off"),
    CustomPermission("bundles", "bundle", "import_bundle", "Can import bundles"),
    CustomPermission("bundles", "bundle", "dry_replay", "Can dry-replay traces"),
    CustomPermission("accounts", "adminsite", "use_admin_site", "Can use the admin site"),
)

CAPABILITY_PERMISSIONS: dict[Capability, str] = {
    Capability.VIEW_TRACES: "traces.view_trace",
    Capability.READ_PAYLOAD_CONTENT: "payloads.view_payload_content",
    Capability.EXPORT_BUNDLES: "bundles.export_bundle",
    Capability.EXPORT_WITH_PAYLOADS: "bundles.export_with_payloads",
    Capability.EXPORT_UNREDACTED: "bundles.export_unredacted",
    Capability.IMPORT_BUNDLES: "bundles.import_bundle",
    Capability.DRY_REPLAY: "bundles.dry_replay",
    Capability.ADMIN_SITE: "accounts.use_admin_site",
}

_VIEWER = frozenset({Capability.VIEW_TRACES, Capability.EXPORT_BUNDLES})
_ENGINEER = _VIEWER | {
    Capability.READ_PAYLOAD_CONTENT,
    Capability.EXPORT_WITH_PAYLOADS,
    Capability.IMPORT_BUNDLES,
    Capability.DRY_REPLAY,
}
ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.VIEWER: _VIEWER,
    Role.ENGINEER: _ENGINEER,
    Role.ADMIN: frozenset(Capability),
}

# Model permissions a role needs beyond its capabilities (span metadata is part of "open traces").
ROLE_EXTRA_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.VIEWER: frozenset({"traces.view_span"}),
    Role.ENGINEER: frozenset({"traces.view_span"}),
    Role.ADMIN: frozenset(),
}

# The admin group holds every permission of the installation (users, groups, ingest keys, tokens, traces,
# and whatever later apps add), which is what "superusers act as admin" means for a non-superuser.
ROLE_HOLDS_ALL_PERMISSIONS: frozenset[Role] = frozenset({Role.ADMIN})

# Highest first: a user in several role groups has the highest one.
_ROLE_RANK: tuple[Role, ...] = (Role.ADMIN, Role.ENGINEER, Role.VIEWER)

Principal = AbstractUser | AnonymousUser  # what request.user is

EXPORT_DEFAULT_REDACTION = RedactionMode.STRICT


def role_permissions(role: Role) -> frozenset[str]:
    """`app_label.codename` of every permission the role's group holds (except the admin's "all")."""
    return frozenset(CAPABILITY_PERMISSIONS[c] for c in ROLE_CAPABILITIES[role]) | ROLE_EXTRA_PERMISSIONS[role]


def can(user: Principal, capability: Capability) -> bool:
    return bool(user.is_active) and user.has_perm(CAPABILITY_PERMISSIONS[capability])


def capabilities(user: Principal) -> dict[Capability, bool]:
    return {capability: can(user, capability) for capability in Capability}


def role_of(user: Principal) -> Role | None:
    """The user's role: admin for superusers, else the highest role group they are in, else None."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    names = set(user.groups.values_list("name", flat=True))
    return next((role for role in _ROLE_RANK if role.value in names), None)


def export_requirements(include_payloads: bool, redaction: str) -> frozenset[Capability]:
    """What exporting a bundle with these options needs (DESIGN.md: strict without payloads for everyone,
    payloads or standard redaction for engineers, redaction off for admins only).

    An unknown redaction mode needs the most, so a typo can never widen access; the export view still
    answers 400 for it to those allowed that far, as it does for payloads under strict redaction
    (`bundles.format.export_options_problem`).
    """
    needed = {Capability.EXPORT_BUNDLES}
    if include_payloads or redaction != RedactionMode.STRICT:
        needed.add(Capability.EXPORT_WITH_PAYLOADS)
    if redaction not in (RedactionMode.STRICT, RedactionMode.STANDARD):
        needed.add(Capability.EXPORT_UNREDACTED)
    return frozenset(needed)

"""Keeping the role groups and their Django permissions equal to the table in `accounts.roles`.

`sync_role_groups` creates the custom permissions (on model-less content types, see
`roles.CUSTOM_PERMISSIONS`), creates the groups `viewer`, `engineer`, `admin` if missing, and sets each
group's permissions to exactly what its role grants. It runs from the data migration `0003_role_permissions`
and again after every `migrate` (post_migrate, once per run, after Django has created the permissions of every
app), so a changed table or a new app's permissions reach the groups without anyone clicking in /admin/. It
works with the historical models of a migration as well as the live ones, hence the `apps` argument.

Known limit: a permission an admin adds to or removes from a role group by hand in /admin/ is put back to the
table on the next `migrate`; make one-off grants to users, not to the role groups.
"""

from typing import Any

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.db.models import Q

from accounts.roles import CUSTOM_PERMISSIONS, ROLE_HOLDS_ALL_PERMISSIONS, Role, role_permissions


def sync_role_groups(apps: Apps, using: str) -> None:
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    content_type_model = apps.get_model("contenttypes", "ContentType")

    for spec in CUSTOM_PERMISSIONS:
        content_type, _ = content_type_model.objects.using(using).get_or_create(
            app_label=spec.app_label, model=spec.model
        )
        permission, created = permission_model.objects.using(using).get_or_create(
            content_type=content_type, codename=spec.codename, defaults={"name": spec.name}
        )
        if not created and permission.name != spec.name:
            permission.name = spec.name
            permission.save(update_fields=["name"])

    every_permission = permission_model.objects.using(using).all()
    for role in Role:
        group, _ = group_model.objects.using(using).get_or_create(name=role.value)
        if role in ROLE_HOLDS_ALL_PERMISSIONS:
            wanted = list(every_permission)
        else:
            wanted = list(every_permission.filter(_matching(role_permissions(role))))
        group.permissions.set(wanted)


def _matching(perms: frozenset[str]) -> Q:
    query = Q(pk__in=[])
    for perm in perms:
        app_label, codename = perm.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    return query


def sync_after_migrate(sender: AppConfig, using: str, apps: Apps | None = None, **kwargs: Any) -> None:
    """post_migrate receiver: acts once per run, on the signal of the last app Django sends it for.

    Django sends post_migrate once per app with models, and creates each app's permissions in its own
    receiver (connected before this one); on the last app every permission exists.
    """
    senders = [config for config in global_apps.get_app_configs() if config.models_module is not None]
    if not senders or sender.label != senders[-1].label:
        return
    state = apps or global_apps
    try:
        state.get_model("auth", "Permission")
        state.get_model("contenttypes", "ContentType")
    except LookupError:  # migrating auth or contenttypes back to zero: nothing to sync into
        return
    sync_role_groups(state, using)

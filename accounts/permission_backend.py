"""Django's ModelBackend, reading a user's permissions (their own and their groups') in one query.

Every `/api/` request asks `user.has_perm(...)` (accounts.roles); ModelBackend answers that with two queries
(user permissions, then group permissions). One query joining both keeps the per-request cost of the role
check at one query. The result is cached on the user object for the request, as ModelBackend does.
"""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Permission
from django.db.models import Q


class RolePermissionBackend(ModelBackend):
    def get_all_permissions(self, user_obj: AbstractBaseUser | AnonymousUser, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        cached: set[str] | None = getattr(user_obj, "_perm_cache", None)
        if cached is None:
            rows = Permission.objects.all()
            if not getattr(user_obj, "is_superuser", False):
                rows = rows.filter(Q(user=user_obj) | Q(group__user=user_obj))
            pairs = rows.values_list("content_type__app_label", "codename").order_by().distinct()
            cached = {f"{app_label}.{codename}" for app_label, codename in pairs}
            user_obj._perm_cache = cached  # type: ignore[attr-defined]  # ModelBackend's own cache slot
        return cached

"""The admin site, open only to admins: superusers and members of the `admin` group (not to mere staff).

`accounts.admin_apps.TraceFoundryAdminConfig` replaces `django.contrib.admin` in INSTALLED_APPS so
`admin.site` (what every `@admin.register` uses) is this site. The admin's own login page is replaced by
`/accounts/login/`, so admins sign in through the throttled form like everyone else; a signed-in user without
the right gets 403.
"""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.roles import Capability, can


class TraceFoundryAdminSite(admin.AdminSite):
    site_header = "TraceFoundry administration"
    site_title = "TraceFoundry admin"
    index_title = "Users, roles, ingest keys"

    def has_permission(self, request: HttpRequest) -> bool:
        return can(request.user, Capability.ADMIN_SITE)

    def login(self, request: HttpRequest, extra_context: dict[str, object] | None = None) -> HttpResponse:
        next_url = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index", current_app=self.name)
        if self.has_permission(request):
            return redirect(reverse("admin:index", current_app=self.name))
        if request.user.is_authenticated:
            raise PermissionDenied("Only admins may use the admin site.")
        return redirect_to_login(next_url, settings.LOGIN_URL)

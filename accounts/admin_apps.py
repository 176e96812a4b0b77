"""`django.contrib.admin` with TraceFoundry's admin site as `admin.site` (kept apart from the site's module,
which imports models and so cannot load while INSTALLED_APPS is being read)."""

from django.contrib.admin.apps import AdminConfig


class TraceFoundryAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.TraceFoundryAdminSite"

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from tracefoundry_site import explorer
from traces.admin_retention import retention_page
from traces.otlp_views import receive_langfuse_traces, receive_logs, receive_traces

urlpatterns = [
    path("otlp/v1/traces", receive_traces, name="otlp-traces"),
    path("otlp/v1/logs", receive_logs, name="otlp-logs"),
    path("api/public/otel/v1/traces", receive_langfuse_traces, name="langfuse-otel-traces"),
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/", include("payloads.api.urls")),
    path("api/", include("traces.api.urls")),
    path("api/", include("bundles.api.urls")),
    path("api/", include("accounts.api.urls")),
    path("admin/retention/", admin.site.admin_view(retention_page), name="admin-retention"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    # Last: the explorer's exported files. The lookahead keeps unknown /api/... etc. as plain 404s (and lets
    # APPEND_SLASH redirect /admin to /admin/) instead of answering them with an explorer page.
    re_path(r"^(?!(?:api|otlp|admin|accounts|static)(?:/|$))(?P<path>.*)$", explorer.serve, name="explorer"),
]

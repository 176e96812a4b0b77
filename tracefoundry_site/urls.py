from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from traces.otlp_views import receive_traces

urlpatterns = [
    path("otlp/v1/traces", receive_traces, name="otlp-traces"),
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/", include("traces.api.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
]

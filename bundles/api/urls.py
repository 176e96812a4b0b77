from django.urls import path

from bundles.api import views

urlpatterns = [
    path("traces/<str:trace_id>/export", views.ExportTraceView.as_view(), name="trace-export"),
    path("traces/<str:trace_id>/dry-replay", views.DryReplayTraceView.as_view(), name="trace-dry-replay"),
    path("bundles/import", views.ImportBundleView.as_view(), name="bundle-import"),
    path("bundles/dry-replay", views.DryReplayBundleView.as_view(), name="bundle-dry-replay"),
]

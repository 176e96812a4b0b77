from django.urls import path

from traces.api import compare_views, metrics, sessions, span_search_views, views

urlpatterns = [
    path("traces", views.TraceListView.as_view(), name="trace-list"),
    path("traces/compare", compare_views.TraceCompareView.as_view(), name="trace-compare"),
    path("traces/<str:trace_id>", views.TraceDetailView.as_view(), name="trace-detail"),
    path("traces/<str:trace_id>/spans", views.TraceSpansView.as_view(), name="trace-spans"),
    path("traces/<str:trace_id>/search", span_search_views.TraceSpanSearchView.as_view(), name="trace-search"),
    path("spans/<str:span_id>", views.SpanDetailView.as_view(), name="span-detail"),
    path("facets", views.FacetsView.as_view(), name="facets"),
    path("sessions", sessions.SessionListView.as_view(), name="session-list"),
    path("sessions/<path:session_id>", sessions.SessionDetailView.as_view(), name="session-detail"),
    path("metrics", metrics.MetricsView.as_view(), name="metrics"),
]

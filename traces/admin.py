"""Read-only admin views of traces and spans, for admins checking what was stored (the explorer is for
debugging).

Nothing can be added, changed or deleted here: traces come from ingest and bundle import only, and leave
through retention.
"""

from django.contrib import admin
from django.http import HttpRequest

from traces.models import Span, Trace


class _ReadOnlyAdmin(admin.ModelAdmin):
    # Counting every row of a large table on each page view is what makes admin lists slow.
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


@admin.register(Trace)
class TraceAdmin(_ReadOnlyAdmin):
    list_display = (
        "trace_id",
        "root_span_name",
        "service",
        "environment",
        "status",
        "span_count",
        "error_count",
        "total_tokens",
        "cost_usd",
        "source",
        "ingested_at",
    )
    list_filter = ("status", "source", "environment")
    search_fields = ("=trace_id", "service", "root_span_name")
    ordering = ("-start_unix_nano",)


@admin.register(Span)
class SpanAdmin(_ReadOnlyAdmin):
    list_display = (
        "span_id",
        "trace_id",
        "name",
        "category",
        "service",
        "status_code",
        "model",
        "tool_name",
        "total_tokens",
        "duration_ns",
    )
    list_filter = ("category", "status_code")
    search_fields = ("=trace__trace_id", "=span_id", "name")
    ordering = ("trace_id", "start_unix_nano")

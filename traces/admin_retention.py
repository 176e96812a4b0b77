"""The admin's read-only retention page (/admin/retention/): schedule, limits, what is past its age now."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from payloads import retention as payload_retention
from traces import retention


def retention_page(request: HttpRequest) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Retention",
        "policy": retention.configured_policy(),
        "metadata": retention.expire_trace_metadata(dry_run=True),
        "payloads": payload_retention.expire_payloads(dry_run=True),
    }
    return TemplateResponse(request, "admin/retention.html", context)

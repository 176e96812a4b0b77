"""The admin's read-only retention page: schedule, limits and what is due, for admins only."""

import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from testing.factories import SpanSpec, export_request, new_span_id, new_trace_id
from traces.ingest import ingest_request
from traces.models import Trace

DAY_NS = 86_400 * 1_000_000_000


@pytest.mark.django_db
class TestRetentionAdminPage:
    def test_admin_sees_limits_schedule_and_what_is_due(self, client: Client, admin_user: User, settings) -> None:
        settings.RETENTION_METADATA_DAYS = 5
        settings.RETENTION_PAYLOAD_DAYS = 2
        settings.RETENTION_BATCH_SIZE = 250
        trace_id = new_trace_id()
        ingest_request(
            export_request([SpanSpec(trace_id, new_span_id(), "old run", start_ns=time.time_ns() - 6 * DAY_NS)])
        )
        Trace.objects.filter(trace_id=trace_id).update(last_ingested_at=timezone.now() - timedelta(days=6))
        client.force_login(admin_user)

        page = client.get("/admin/retention/")

        assert page.status_code == 200
        html = page.content.decode()
        assert "5 days (<code>RETENTION_METADATA_DAYS</code>)" in html
        assert "2 days (<code>RETENTION_PAYLOAD_DAYS</code>)" in html
        assert "250 (<code>RETENTION_BATCH_SIZE</code>)" in html
        assert "<code>traces.tasks.expire_trace_metadata</code>" in html
        assert "<code>payloads.tasks.expire_payloads</code>" in html
        assert "1 traces, 1 spans" in html

    def test_admin_index_links_to_it(self, client: Client, admin_user: User) -> None:
        client.force_login(admin_user)

        assert 'href="/admin/retention/"' in client.get("/admin/").content.decode()

    def test_engineers_and_anonymous_users_are_kept_out(self, client: Client, engineer: User) -> None:
        anonymous = client.get("/admin/retention/", follow=True)
        client.force_login(engineer)
        signed_in = client.get("/admin/retention/", follow=True)

        assert anonymous.redirect_chain[-1][0].startswith("/accounts/login/")
        assert signed_in.status_code == 403

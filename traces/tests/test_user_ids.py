"""User ids: the trace's `user_id` stored at ingest (USER_ID_ATTRIBUTES), shown in summaries, filtered by `user=`,
and masked in strict mode like every other attribute value that is personal data."""

import json

import pytest
from django.test import Client

from testing.factories import NOW_NS, SpanSpec, export_request, new_span_id, new_trace_id
from traces.ingest import ingest_request
from traces.models import Trace

SECOND = 1_000_000_000


def run_for(user: str, offset_s: int = 0, key: str = "user.id", session: str = "") -> str:
    """One trace: a root span naming the user (and maybe a session) and one LLM child span."""
    trace_id, root = new_trace_id(), new_span_id()
    start = NOW_NS + offset_s * SECOND
    attributes = {key: user} if user else {}
    if session:
        attributes["session.id"] = session
    spans = [
        SpanSpec(trace_id, root, "invoke_agent support", start_ns=start, attributes=attributes),
        SpanSpec(
            trace_id,
            new_span_id(),
            "chat gpt-4o",
            root,
            start + 1,
            attributes={"gen_ai.request.model": "gpt-4o", "gen_ai.operation.name": "chat"},
        ),
    ]
    ingest_request(export_request(spans))
    return trace_id


@pytest.mark.django_db
class TestUserIdAtIngest:
    @pytest.mark.parametrize(
        "key",
        [
            "user.id",
            "enduser.id",
            "langfuse.user.id",
            "ai.telemetry.metadata.userId",
            "traceloop.association.properties.user_id",
        ],
    )
    def test_each_configured_key_names_the_user(self, key: str) -> None:
        trace_id = run_for("user-1", key=key)
        assert Trace.objects.get(trace_id=trace_id).user_id == "user-1"

    def test_no_user_attribute_no_user(self) -> None:
        trace_id = run_for("", key="user.id")
        assert Trace.objects.get(trace_id=trace_id).user_id == ""

    def test_resource_attribute_later_batch_and_kept_once_set(self) -> None:
        trace_id, root = new_trace_id(), new_span_id()
        ingest_request(export_request([SpanSpec(trace_id, root, "root")]))
        child = SpanSpec(trace_id, new_span_id(), "child", root, NOW_NS + 5)
        ingest_request(export_request([child], resource={"enduser.id": "from-resource"}))
        assert Trace.objects.get(trace_id=trace_id).user_id == "from-resource"

        other = SpanSpec(trace_id, new_span_id(), "other", root, NOW_NS + 9, attributes={"user.id": "someone-else"})
        ingest_request(export_request([other]))
        assert Trace.objects.get(trace_id=trace_id).user_id == "from-resource"

    def test_earliest_span_of_a_batch_wins_and_numbers_are_read_as_text(self) -> None:
        trace_id, root = new_trace_id(), new_span_id()
        late = SpanSpec(trace_id, new_span_id(), "late", root, NOW_NS + 50, attributes={"user.id": "late"})
        early = SpanSpec(trace_id, root, "root", start_ns=NOW_NS, attributes={"enduser.id": 4711})
        ingest_request(export_request([late, early]))
        assert Trace.objects.get(trace_id=trace_id).user_id == "4711"

    def test_long_ids_are_cut_to_the_column(self) -> None:
        trace_id = run_for("u" * 300)
        assert Trace.objects.get(trace_id=trace_id).user_id == "u" * 255

    def test_configured_keys_are_a_setting(self, settings) -> None:
        settings.USER_ID_ATTRIBUTES = ["app.customer"]
        assert Trace.objects.get(trace_id=run_for("c-9", key="app.customer")).user_id == "c-9"
        assert Trace.objects.get(trace_id=run_for("u-1", key="user.id")).user_id == ""


@pytest.mark.django_db
class TestUserInTheApi:
    def test_summaries_show_the_user(self, api: Client) -> None:
        trace_id = run_for("user-42")
        listed = api.get("/api/traces").json()["items"]
        assert [item["user_id"] for item in listed] == ["user-42"]
        assert api.get(f"/api/traces/{trace_id}").json()["trace"]["user_id"] == "user-42"

    def test_user_filter_is_exact(self, api: Client) -> None:
        first = run_for("user-1", 0)
        run_for("user-10", 1)
        run_for("", 2)
        matching = api.get("/api/traces", {"user": "user-1"}).json()
        assert [item["trace_id"] for item in matching["items"]] == [first]
        assert matching["total"] == {"count": 1, "exact": True}
        assert api.get("/api/traces", {"user": "USER-1"}).json()["items"] == []

    def test_user_filter_selects_sessions(self, api: Client) -> None:
        run_for("user-1", 0, session="conv-a")
        run_for("user-2", 1, session="conv-b")
        sessions = api.get("/api/sessions", {"user": "user-2"}).json()["items"]
        assert [item["session_id"] for item in sessions] == ["conv-b"]

    def test_a_user_filter_longer_than_the_column_is_refused(self, api: Client) -> None:
        response = api.get("/api/traces", {"user": "u" * 256})
        assert response.status_code == 400
        assert response.json()["parameter"] == "user"


@pytest.mark.django_db
class TestStrictMode:
    """An email address used as a user id is personal data: strict mode masks it before the trace row is written."""

    def test_a_viewer_never_sees_an_email_used_as_user_id(self, api: Client, settings) -> None:
        settings.REDACTION_MODE = "strict"
        trace_id = run_for("alice.smith@example.com", key="langfuse.user.id")

        assert Trace.objects.get(trace_id=trace_id).user_id == "[REDACTED:email]"
        answers = [
            api.get("/api/traces").content,
            api.get(f"/api/traces/{trace_id}").content,
            api.get(f"/api/traces/{trace_id}/spans").content,
            api.get("/api/traces", {"q": "alice"}).content,
        ]
        assert all(b"alice" not in answer for answer in answers)
        assert api.get("/api/traces", {"user": "alice.smith@example.com"}).json()["items"] == []
        summary = json.loads(answers[0])["items"][0]
        assert summary["user_id"] == "[REDACTED:email]"

    def test_an_opaque_user_id_is_kept_in_strict_mode(self, api: Client, settings) -> None:
        settings.REDACTION_MODE = "strict"
        trace_id = run_for("user-7f3a", key="enduser.id")
        assert Trace.objects.get(trace_id=trace_id).user_id == "user-7f3a"

    def test_standard_mode_keeps_an_email_as_sent(self, settings) -> None:
        settings.REDACTION_MODE = "standard"
        trace_id = run_for("alice.smith@example.com")
        assert Trace.objects.get(trace_id=trace_id).user_id == "alice.smith@example.com"

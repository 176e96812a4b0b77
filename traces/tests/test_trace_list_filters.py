"""The trace list's error/retry/timeout filters, total count, ascending sorts and free text over event attributes."""

import pytest
from django.test import Client, override_settings

from testing.factories import NOW_NS, SpanSpec, agent_trace, export_request, new_span_id, new_trace_id
from traces.ingest import ingest_request
from traces.models import Trace


def trace(name: str, offset: int = 0, retries: int = 0, **options) -> str:
    trace_id = new_trace_id()
    events = [("tracefoundry.retry", {"tracefoundry.retry.reason": "rate limit exceeded"})] * retries
    spec = SpanSpec(
        trace_id,
        new_span_id(),
        name,
        start_ns=NOW_NS + offset,
        duration_ns=options.get("duration_ns", 1_000_000),
        events=events,
        attributes=options.get("attributes", {}),
        status_code=options.get("status_code", 0),
        status_message=options.get("status_message", ""),
    )
    ingest_request(export_request([spec]))
    return trace_id


def names(api: Client, params: dict) -> list[str]:
    return sorted(item["root_span_name"] for item in api.get("/api/traces", params).json()["items"])


@pytest.mark.django_db
class TestFlagFilters:
    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"has_errors": "true"}, ["failed", "timed-out"]),
            ({"has_errors": "false"}, ["calm", "retried", "stormy"]),
            ({"has_retries": "true"}, ["retried", "stormy"]),
            ({"has_retries": "false"}, ["calm", "failed", "timed-out"]),
            ({"has_timeouts": "true"}, ["timed-out"]),
            ({"min_retries": "3"}, ["stormy"]),
            ({"min_retries": "1", "has_errors": "false"}, ["retried", "stormy"]),
        ],
    )
    def test_flags(self, api: Client, params: dict, expected: list[str]) -> None:
        trace("calm", 1)
        trace("retried", 2, retries=1)
        trace("stormy", 3, retries=4)
        trace("failed", 4, status_code=2, status_message="boom")
        trace("timed-out", 5, status_code=2, status_message="request timed out")
        assert names(api, params) == expected

    @pytest.mark.parametrize(
        ("params", "parameter"), [({"has_errors": "maybe"}, "has_errors"), ({"min_retries": "-1"}, "min_retries")]
    )
    def test_bad_flags_are_400(self, api: Client, params: dict, parameter: str) -> None:
        response = api.get("/api/traces", params)
        assert response.status_code == 400
        assert response.json()["parameter"] == parameter


@pytest.mark.django_db
class TestFreeText:
    def test_matches_event_attribute_values(self, api: Client) -> None:
        trace("retried", retries=1)
        trace("calm")
        assert names(api, {"q": "RATE LIMIT"}) == ["retried"]

    def test_payload_content_in_attributes_or_events_is_never_searchable(self, api: Client) -> None:
        trace_id = trace(
            "with payloads",
            attributes={
                "input.value": "secret-prompt-words",
                "gen_ai.input.messages": '[{"role":"user","content":"hidden-words"}]',
            },
        )
        spans = [
            SpanSpec(
                new_trace_id(),
                new_span_id(),
                "event payload",
                events=[("gen_ai.user.message", {"content": "event-prompt-words"})],
            )
        ]
        ingest_request(export_request(spans))
        for text in ("secret-prompt-words", "hidden-words", "event-prompt-words", "sha256:"):
            assert names(api, {"q": text}) == []
        assert "secret-prompt-words" not in Trace.objects.get(trace_id=trace_id).search_text


@pytest.mark.django_db
class TestTotalCountAndSorts:
    def test_exact_count_on_the_first_page_only(self, api: Client) -> None:
        for i in range(5):
            trace(f"t{i}", i)
        first = api.get("/api/traces", {"limit": "2"}).json()
        assert first["total"] == {"count": 5, "exact": True}
        assert api.get("/api/traces", {"limit": "2", "cursor": first["next_cursor"]}).json()["total"] is None
        assert api.get("/api/traces", {"q": "t3"}).json()["total"] == {"count": 1, "exact": True}

    @override_settings(TRACE_COUNT_LIMIT=3)
    def test_count_is_capped(self, api: Client) -> None:
        for i in range(5):
            trace(f"t{i}", i)
        assert api.get("/api/traces").json()["total"] == {"count": 3, "exact": False}
        assert api.get("/api/traces", {"q": "t1"}).json()["total"] == {"count": 1, "exact": True}

    @pytest.mark.parametrize(
        ("sort", "expected"), [("fastest", ["quick", "medium", "slow"]), ("slowest", ["slow", "medium", "quick"])]
    )
    def test_ascending_sorts(self, api: Client, sort: str, expected: list[str]) -> None:
        for name, duration in (("medium", 5), ("slow", 9), ("quick", 1)):
            trace(name, duration_ns=duration * 1_000_000)
        items = api.get("/api/traces", {"sort": sort}).json()["items"]
        assert [item["root_span_name"] for item in items] == expected

    def test_cheapest_and_fewest_tokens_paginate(self, api: Client) -> None:
        ingest_request(export_request(agent_trace()))
        trace("free")
        for sort in ("cheapest", "fewest_tokens"):
            page = api.get("/api/traces", {"sort": sort, "limit": "1"}).json()
            assert page["items"][0]["root_span_name"] == "free"
            rest = api.get("/api/traces", {"sort": sort, "limit": "1", "cursor": page["next_cursor"]}).json()
            assert rest["items"][0]["root_span_name"] == "invoke_agent planner"

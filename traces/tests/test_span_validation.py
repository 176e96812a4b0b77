"""Validation per span: a value no column can hold is left out and noted on its span, the rest of the batch is
stored, the answer names no database internals, and every read of the trace works. Runs on SQLite and Postgres."""

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from testing.factories import SpanSpec, agent_trace, export_request, new_span_id, new_trace_id
from traces import span_limits
from traces.models import Span, Trace

URL = "/otlp/v1/traces"
INT64_MAX = 2**63 - 1
PROBLEMS = span_limits.PROBLEMS_ATTRIBUTE
LLM = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}

# case: (span fields, the column left at its neutral value, the attribute or field named in the note)
CASES: dict[str, tuple[dict[str, Any], str, str]] = {
    "cost 1e30": ({"attributes": {**LLM, "tracefoundry.cost.usd": "1e30"}}, "cost_usd", "tracefoundry.cost.usd"),
    "cost NaN": ({"attributes": {**LLM, "tracefoundry.cost.usd": "NaN"}}, "cost_usd", "tracefoundry.cost.usd"),
    "cost Infinity": ({"attributes": {**LLM, "llm.cost.total": "Infinity"}}, "cost_usd", "llm.cost.total"),
    "cost 1e999999": (
        {"attributes": {**LLM, "tracefoundry.cost.usd": "1e999999"}},
        "cost_usd",
        "tracefoundry.cost.usd",
    ),
    "negative cost": ({"attributes": {**LLM, "tracefoundry.cost.usd": -3.5}}, "cost_usd", "tracefoundry.cost.usd"),
    "kind 2^31-1": ({"kind": 2**31 - 1}, "kind", "kind"),
    "status code 99999": ({"status_code": 99999}, "status_code", "status.code"),
    "30-digit token count": (
        {"attributes": {**LLM, "gen_ai.usage.input_tokens": "1" * 30}},
        "input_tokens",
        "gen_ai.usage.input_tokens",
    ),
    "tokens 1e300": (
        {"attributes": {**LLM, "gen_ai.usage.output_tokens": 1e300}},
        "output_tokens",
        "gen_ai.usage.output_tokens",
    ),
    "tokens at int64 max": (
        {"attributes": {**LLM, "gen_ai.usage.input_tokens": INT64_MAX}},
        "input_tokens",
        "gen_ai.usage.input_tokens",
    ),
    "token count ²": (
        {"attributes": {**LLM, "gen_ai.usage.input_tokens": "²"}},
        "input_tokens",
        "gen_ai.usage.input_tokens",
    ),
    "5,000-digit token count": (
        {"attributes": {**LLM, "llm.token_count.prompt": "9" * 5000}},
        "input_tokens",
        "llm.token_count.prompt",
    ),
    "negative token count": (
        {"attributes": {**LLM, "gen_ai.usage.input_tokens": -5}},
        "input_tokens",
        "gen_ai.usage.input_tokens",
    ),
    "retry count at int64 max": (
        {"attributes": {"tracefoundry.retry.count": INT64_MAX}},
        "retry_count",
        "tracefoundry.retry.count",
    ),
}


def post(client: Client, specs: list[SpanSpec], headers: dict[str, str]) -> ExportTraceServiceResponse:
    response = client.post(
        URL,
        export_request(specs).SerializeToString(),
        content_type=headers["Content-Type"],
        headers={"Authorization": headers["Authorization"]},
    )
    assert response.status_code == 200, response.content
    return ExportTraceServiceResponse.FromString(response.content)


def assert_every_read_works(client: Client, trace_id: str, span_ids: list[str]) -> None:
    for sort in ("newest", "oldest", "slowest", "most_expensive", "most_tokens"):
        page = client.get("/api/traces", {"sort": sort, "limit": 1})
        assert page.status_code == 200, page.content
        assert client.get("/api/traces", {"sort": sort, "cursor": page.json()["next_cursor"] or ""}).status_code == 200
    for query in ({"min_cost": "0"}, {"min_tokens": "0"}, {"model": "gpt-4o"}, {"q": "x"}, {"status": "error"}):
        assert client.get("/api/traces", query).status_code == 200
    assert client.get(f"/api/traces/{trace_id}").status_code == 200
    assert client.get(f"/api/traces/{trace_id}/spans").status_code == 200
    for span_id in span_ids:
        assert client.get(f"/api/spans/{span_id}", {"trace_id": trace_id}).status_code == 200
    assert client.get("/api/facets").status_code == 200


@pytest.mark.django_db
class TestOneBadValue:
    @pytest.mark.parametrize("case", list(CASES))
    def test_is_left_out_and_noted_and_the_batch_is_stored(
        self, case: str, client: Client, otlp_headers, admin_user: User
    ) -> None:
        fields, column, named = CASES[case]
        trace_id, bad, good = new_trace_id(), new_span_id(), new_span_id()

        reply = post(
            client,
            [SpanSpec(trace_id, bad, "bad value", **fields), SpanSpec(trace_id, good, "fine", attributes=LLM)],
            otlp_headers(),
        )

        message = reply.partial_success.error_message
        assert reply.partial_success.rejected_spans == 0
        assert named in message
        assert PROBLEMS in message
        assert not any(internal in message for internal in ("COPY", "column", "line ", "spans"))
        stored = Span.objects.get(trace_id=trace_id, span_id=bad)
        assert getattr(stored, column) == 0
        assert [note.split(":")[0] for note in stored.attributes[PROBLEMS]] == [named]
        assert PROBLEMS not in Span.objects.get(trace_id=trace_id, span_id=good).attributes
        assert Trace.objects.get(trace_id=trace_id).span_count == 2
        client.force_login(admin_user)
        assert_every_read_works(client, trace_id, [bad, good])


@pytest.mark.django_db
class TestStringsAndSums:
    def test_nul_in_any_string_is_replaced_on_every_database(self, client: Client, otlp_headers) -> None:
        trace_id, span_id = new_trace_id(), new_span_id()
        request = export_request(
            [SpanSpec(trace_id, span_id, "na\x00me", attributes={"k\x00ey": "va\x00lue"}, status_message="m\x00sg")]
        )
        scope_spans = request.resource_spans[0].scope_spans[0]
        scope_spans.scope.name = "sco\x00pe"
        scope_spans.scope.version = "1\x00"
        scope_spans.schema_url = "https://example.com/\x00"
        span = scope_spans.spans[0]
        span.trace_state = "vendor=a\x00b"
        span.events.add(name="ev\x00ent", time_unix_nano=span.start_time_unix_nano)
        span.links.add(trace_id=bytes.fromhex(trace_id), span_id=bytes.fromhex(span_id), trace_state="x=\x00")

        response = client.post(
            URL,
            request.SerializeToString(),
            content_type="application/x-protobuf",
            headers={"Authorization": otlp_headers()["Authorization"]},
        )

        assert response.status_code == 200
        stored = Span.objects.get(trace_id=trace_id, span_id=span_id)
        assert (stored.name, stored.status_message, stored.trace_state) == (
            "na\ufffdme",
            "m\ufffdsg",
            "vendor=a\ufffdb",
        )
        assert stored.attributes == {"k\ufffdey": "va\ufffdlue"}
        assert (stored.scope["name"], stored.scope["version"], stored.scope["schema_url"]) == (
            "sco\ufffdpe",
            "1\ufffd",
            "https://example.com/\ufffd",
        )
        assert stored.events[0]["name"] == "ev\ufffdent"
        assert stored.links[0]["trace_state"] == "x=\ufffd"

    def test_an_infinite_double_cost_is_left_out(self, client: Client, otlp_headers) -> None:
        trace_id, span_id = new_trace_id(), new_span_id()
        request = export_request([SpanSpec(trace_id, span_id, "c", attributes={**LLM, "llm.cost.total": 1.5})])
        request.resource_spans[0].scope_spans[0].spans[0].attributes[-1].value.double_value = float("inf")

        response = client.post(
            URL,
            request.SerializeToString(),
            content_type="application/x-protobuf",
            headers={"Authorization": otlp_headers()["Authorization"]},
        )

        assert response.status_code == 200
        stored = Span.objects.get(span_id=span_id)
        assert (stored.cost_usd, stored.attributes["llm.cost.total"]) == (0, "Infinity")
        assert stored.attributes[PROBLEMS][0].startswith("llm.cost.total: not a cost in USD")

    def test_sums_over_a_trace_saturate_instead_of_overflowing(self, client: Client, otlp_headers) -> None:
        trace_id = new_trace_id()
        at_most = {**LLM, "tracefoundry.cost.usd": str(span_limits.MAX_COST_USD)}
        specs = [
            SpanSpec(
                trace_id, new_span_id(), f"call {i}", attributes={**at_most, "tracefoundry.retry.count": 2**31 - 1}
            )
            for i in range(3)
        ]

        reply = post(client, specs, otlp_headers())

        assert not reply.HasField("partial_success")
        trace = Trace.objects.get(trace_id=trace_id)
        assert (trace.cost_usd, trace.retry_count) == (span_limits.MAX_TRACE_COST_USD, span_limits.MAX_TRACE_RETRIES)
        assert Span.objects.filter(trace_id=trace_id, cost_usd=span_limits.MAX_COST_USD).count() == 3

    def test_a_stated_cost_is_rounded_to_the_columns_places(self, client: Client, otlp_headers) -> None:
        trace_id, span_id = new_trace_id(), new_span_id()

        post(
            client,
            [SpanSpec(trace_id, span_id, "c", attributes={**LLM, "llm.cost.total": "0.123456789012345"})],
            otlp_headers(),
        )

        assert Span.objects.get(span_id=span_id).cost_usd == Decimal("0.1234567890")


@pytest.mark.django_db(transaction=True)
def test_rows_stored_out_of_range_before_the_checks_are_cleared_by_the_migration(admin_user: User) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("traces", "0003_cheaper_span_inserts")])
    spans = agent_trace()
    trace_id = spans[0].trace_id
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO traces (trace_id, service, environment, root_span_id, root_span_name, start_unix_nano,"
            " end_unix_nano, duration_ns, status, span_count, error_count, llm_call_count, tool_call_count,"
            " retry_count, timeout_count, orphan_count, input_tokens, output_tokens, total_tokens, cost_usd,"
            " models_used, tools_used, search_text, source, ingested_at, updated_at) VALUES (%s, 's', 'e', '', 'r',"
            " 1, 2, 1, 'ok', 1, 0, 1, 0, 2147483647, 0, 0, %s, 0, %s, %s, '[]', '[]', '', 'otlp', %s, %s)",
            [
                trace_id,
                INT64_MAX,
                INT64_MAX,
                Decimal("9999999999.9999999999"),
                "2026-01-01T00:00:00Z",
                "2026-01-01T00:00:00Z",
            ],
        )
        cursor.execute(
            "INSERT INTO spans (trace_id, span_id, parent_span_id, name, kind, category, service, environment,"
            " start_unix_nano, end_unix_nano, duration_ns, status_code, status_message, trace_state, flags,"
            " attributes, resource_attributes, events, links, scope, otlp_extra, operation_name, model, provider,"
            " tool_name, input_tokens, output_tokens, total_tokens, cost_usd, retry_count, is_timeout) VALUES"
            " (%s, 'aaaaaaaaaaaaaaaa', '', 'n', 1, 'llm', 's', 'e', 1, 2, 1, 0, '', '', 0, '{}', '{}', '[]', '[]',"
            " '{}', '{}', 'chat', 'gpt-4o', '', '', %s, 0, %s, %s, %s, %s)",
            [trace_id, INT64_MAX, INT64_MAX, Decimal("9999999999.9999999999"), 2147483647, False],
        )

    MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    trace = Trace.objects.get(trace_id=trace_id)
    span = Span.objects.get(trace_id=trace_id)
    assert (trace.total_tokens, trace.cost_usd) == (span_limits.MAX_TRACE_TOKENS, span_limits.MAX_TRACE_COST_USD)
    assert (span.input_tokens, span.total_tokens, span.cost_usd, span.retry_count) == (0, 0, 0, 2147483647)
    client = Client()
    client.force_login(admin_user)
    assert_every_read_works(client, trace_id, [span.span_id])

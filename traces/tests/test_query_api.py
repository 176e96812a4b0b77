"""The traces query API: filters, sorts, keyset pagination, trees, span detail, facets, errors."""

import base64
import gzip
import json
import random

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from payloads.refs import public_value
from testing.factories import NOW_NS, SpanSpec, agent_trace, export_request, new_span_id, new_trace_id
from traces.ingest import ingest_request


def ingest(spans: list[SpanSpec], service: str = "agent-svc", environment: str = "test") -> str:
    ingest_request(export_request(spans, service=service, environment=environment))
    return spans[0].trace_id


def simple_trace(name: str, start_offset_s: int, duration_ms: int, **attributes) -> str:
    trace_id = new_trace_id()
    spec = SpanSpec(
        trace_id,
        new_span_id(),
        name,
        start_ns=NOW_NS + start_offset_s * 1_000_000_000,
        duration_ns=duration_ms * 1_000_000,
        attributes=attributes,
    )
    return ingest([spec])


@pytest.mark.django_db
class TestTraceList:
    def test_newest_first_with_summary_fields(self, api: Client) -> None:
        older = ingest(agent_trace())
        newer = simple_trace("later", 60, 5)

        items = api.get("/api/traces").json()["items"]
        assert [item["trace_id"] for item in items] == [newer, older]
        assert items[1]["root_span_name"] == "invoke_agent planner"
        assert items[1]["duration_ms"] == 900.0
        assert items[1]["models"] == ["claude-sonnet-4", "gpt-4o"]
        assert items[1]["start_time"].endswith("Z")

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"status": "error"}, ["agent"]),
            ({"status": "ok"}, ["fast", "slow", "other-service"]),
            ({"model": "gpt-4o"}, ["agent"]),
            ({"model": "GPT-4"}, ["agent"]),
            ({"model": "gpt-5"}, []),
            ({"tool": "SEAR"}, ["agent"]),
            ({"min_duration_ms": "500"}, ["agent", "slow"]),
            ({"max_duration_ms": "10"}, ["fast", "other-service"]),
            ({"min_tokens": "1"}, ["agent"]),
            ({"max_tokens": "0"}, ["fast", "slow", "other-service"]),
            ({"min_cost": "0.001"}, ["agent"]),
            ({"max_cost": "0.0001"}, ["fast", "slow", "other-service"]),
            ({"service": "billing"}, ["other-service"]),
            ({"environment": "prod"}, ["other-service"]),
            ({"q": "needle-value"}, ["slow"]),
            ({"q": "PLANNER"}, ["agent"]),
        ],
    )
    def test_filters(self, api: Client, params: dict, expected: list[str]) -> None:
        names = {
            ingest(agent_trace()): "agent",
            simple_trace("fast", 1, 2): "fast",
            simple_trace("slow", 2, 2000, note="a needle-value here"): "slow",
            ingest(
                [SpanSpec(new_trace_id(), new_span_id(), "billing run", start_ns=NOW_NS - 10)],
                "billing",
                "prod",
            ): "other-service",
        }
        items = api.get("/api/traces", params | {"sort": "newest"}).json()["items"]
        assert sorted(names[item["trace_id"]] for item in items) == sorted(expected)

    def test_time_range(self, api: Client) -> None:
        inside = simple_trace("inside", 3600, 1)
        simple_trace("before", 0, 1)
        from traces.timefmt import iso_from_unix_nano

        start = iso_from_unix_nano(NOW_NS + 1800 * 1_000_000_000)
        items = api.get("/api/traces", {"start": start}).json()["items"]
        assert [item["trace_id"] for item in items] == [inside]
        assert api.get("/api/traces", {"end": start}).json()["items"][0]["root_span_name"] == "before"

    @pytest.mark.parametrize(
        ("sort", "expected"),
        [
            ("slowest", ["b", "c", "a"]),
            ("oldest", ["a", "b", "c"]),
            ("newest", ["c", "b", "a"]),
            ("most_tokens", ["c", "b", "a"]),
            ("most_expensive", ["c", "b", "a"]),
        ],
    )
    def test_sorts(self, api: Client, sort: str, expected: list[str]) -> None:
        simple_trace("a", 1, 10)
        simple_trace("b", 2, 300, **{"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 10})
        simple_trace("c", 3, 20, **{"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 9000})
        items = api.get("/api/traces", {"sort": sort}).json()["items"]
        assert [item["root_span_name"] for item in items] == expected

    @pytest.mark.parametrize("sort", ["newest", "slowest", "oldest"])
    def test_cursor_pagination_visits_every_trace_once(self, api: Client, sort: str) -> None:
        expected = {simple_trace(f"t{i}", i % 3, 5 + i % 4) for i in range(23)}
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": "5", "sort": sort}
            if cursor:
                params["cursor"] = cursor
            page = api.get("/api/traces", params).json()
            seen += [item["trace_id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 23
        assert set(seen) == expected

    @pytest.mark.parametrize(
        ("params", "parameter"),
        [
            ({"status": "broken"}, "status"),
            ({"min_duration_ms": "fast"}, "min_duration_ms"),
            ({"start": "yesterday"}, "start"),
            ({"limit": "501"}, "limit"),
            ({"sort": "random"}, "sort"),
            ({"cursor": "%%%"}, "cursor"),
            ({"min_cost": "-1"}, "min_cost"),
        ],
    )
    def test_bad_parameters_are_400_naming_the_parameter(self, api: Client, params: dict, parameter: str) -> None:
        response = api.get("/api/traces", params)
        assert response.status_code == 400
        assert response.json()["parameter"] == parameter
        assert parameter in response.json()["detail"]

    def test_query_count_does_not_grow_with_rows(self, api: Client) -> None:
        def queries_for_one_page() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert api.get("/api/traces", {"limit": "100", "tool": "search"}).status_code == 200
            return len(queries)

        ingest(agent_trace())
        with_one = queries_for_one_page()
        for _ in range(30):
            ingest(agent_trace())
        assert queries_for_one_page() == with_one

    def test_span_tree_query_count_does_not_grow_with_spans(self, api: Client) -> None:
        def queries_for(trace_id: str) -> int:
            with CaptureQueriesContext(connection) as queries:
                assert api.get(f"/api/traces/{trace_id}/spans").status_code == 200
            return len(queries)

        small = ingest(agent_trace())
        spans = agent_trace()
        root = spans[0].span_id
        spans += [SpanSpec(spans[0].trace_id, new_span_id(), f"step {i}", root) for i in range(50)]
        assert queries_for(ingest(spans)) == queries_for(small)

    def test_login_required(self, client: Client) -> None:
        assert client.get("/api/traces").status_code in (401, 403)


@pytest.mark.django_db
class TestTraceDetailAndSpans:
    def test_detail_with_breakdowns(self, api: Client) -> None:
        trace_id = ingest(agent_trace())
        body = api.get(f"/api/traces/{trace_id}").json()

        assert body["trace"]["trace_id"] == trace_id
        assert body["root_span"]["name"] == "invoke_agent planner"
        assert body["services"] == [{"service": "agent-svc", "span_count": 4, "error_count": 1}]
        models = {m["model"]: m for m in body["models"]}
        assert models["gpt-4o"]["call_count"] == 1
        assert models["gpt-4o"]["input_tokens"] == 1000

    def test_spans_in_tree_order_with_orphans_marked(self, api: Client) -> None:
        spans = agent_trace()
        trace_id = spans[0].trace_id
        orphan = SpanSpec(trace_id, new_span_id(), "lost child", parent_span_id=new_span_id(), start_ns=NOW_NS + 5)
        grandchild = SpanSpec(
            trace_id,
            new_span_id(),
            "http GET",
            parent_span_id=spans[2].span_id,
            start_ns=spans[2].start_ns + 1,
        )
        ingest([orphan, grandchild, *reversed(spans)])

        items = api.get(f"/api/traces/{trace_id}/spans").json()["items"]
        assert [(s["name"], s["depth"], s["is_orphan"]) for s in items] == [
            ("invoke_agent planner", 0, False),
            ("chat gpt-4o", 1, False),
            ("execute_tool search", 1, False),
            ("http GET", 2, False),
            ("chat claude-sonnet-4", 1, False),
            ("lost child", 0, True),
        ]
        assert items[1]["offset_ms"] == 1.0
        assert items[4]["is_timeout"] is True
        assert items[2]["retry_count"] == 1

    @staticmethod
    def all_pages(api: Client, trace_id: str, limit: int) -> list[list[dict]]:
        pages, cursor = [], None
        while True:
            params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
            body = api.get(f"/api/traces/{trace_id}/spans", params).json()
            pages.append(body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                return pages

    @staticmethod
    def random_tree(rng: random.Random, size: int, orphan_every: int) -> list[SpanSpec]:
        trace_id = new_trace_id()
        specs = [SpanSpec(trace_id, new_span_id(), "root", duration_ns=10**10)]
        for i in range(1, size):
            parent = new_span_id() if i % orphan_every == 0 else rng.choice(specs).span_id
            specs.append(SpanSpec(trace_id, new_span_id(), f"span {i}", parent, NOW_NS + rng.randint(0, 10**9)))
        return specs

    def test_span_pages_follow_the_tree_order_of_one_page(self, api: Client) -> None:
        rng = random.Random(11)
        specs = self.random_tree(rng, 241, orphan_every=30)  # 8 orphans: the whole order serves every page
        trace_id = ingest(rng.sample(specs, len(specs)))

        whole = self.all_pages(api, trace_id, 1000)
        pages = self.all_pages(api, trace_id, 17)

        assert len(whole) == 1
        assert [item for page in pages for item in page] == whole[0]
        assert [len(page) for page in pages] == [17] * 14 + [3]
        assert sum(item["is_orphan"] for item in whole[0]) == 8

    def test_first_page_walked_from_the_roots_matches_the_pages_after_it(self, api: Client) -> None:
        rng = random.Random(12)
        specs = self.random_tree(rng, 200, orphan_every=10**6)
        trace_id = specs[0].trace_id
        loop = [new_span_id(), new_span_id()]
        specs += [
            SpanSpec(trace_id, loop[0], "cycle a", loop[1]),
            SpanSpec(trace_id, loop[1], "cycle b", loop[0]),
            SpanSpec(trace_id, "5e1f5e1f5e1f5e1f", "own parent", "5e1f5e1f5e1f5e1f"),
        ]
        ingest(rng.sample(specs, len(specs)))

        in_one = [item for page in self.all_pages(api, trace_id, 1000) for item in page]
        for limit in (1, 7, 64):
            assert [item for page in self.all_pages(api, trace_id, limit) for item in page] == in_one
        assert len(in_one) == 203
        assert [(s["name"], s["depth"], s["is_orphan"]) for s in in_one[-3:]] == [
            ("own parent", 0, True),  # same start: by span id
            ("cycle a", 0, True),
            ("cycle b", 0, True),
        ]

    def test_first_page_reads_only_its_own_spans(self, api: Client) -> None:
        def queries_for_first_page(trace_id: str) -> int:
            with CaptureQueriesContext(connection) as queries:
                assert api.get(f"/api/traces/{trace_id}/spans", {"limit": 10}).status_code == 200
            return len(queries)

        small, big = agent_trace(), agent_trace()
        small += [SpanSpec(small[0].trace_id, new_span_id(), f"step {i}", small[0].span_id) for i in range(10)]
        big += [SpanSpec(big[0].trace_id, new_span_id(), f"step {i}", big[0].span_id) for i in range(500)]
        assert queries_for_first_page(ingest(big)) == queries_for_first_page(ingest(small))

    def test_a_trace_that_fits_on_the_page_is_read_in_one_query(self, api: Client) -> None:
        spans = agent_trace()
        spans += [SpanSpec(spans[0].trace_id, new_span_id(), f"step {i}", spans[2].span_id) for i in range(30)]
        trace_id = ingest(spans)

        with CaptureQueriesContext(connection) as queries:
            body = api.get(f"/api/traces/{trace_id}/spans", {"limit": 34}).json()

        assert len([q for q in queries.captured_queries if 'FROM "spans"' in q["sql"]]) == 1
        assert body["next_cursor"] is None
        assert [item for page in self.all_pages(api, trace_id, 5) for item in page] == body["items"]

    def test_spans_arriving_between_pages_neither_repeat_nor_skip_what_was_served(self, api: Client) -> None:
        spans = agent_trace()
        trace_id = ingest(spans)
        first = api.get(f"/api/traces/{trace_id}/spans", {"limit": 2}).json()
        late = SpanSpec(trace_id, new_span_id(), "late tool", spans[0].span_id, NOW_NS + 800_000_000)
        ingest([late])

        rest = api.get(f"/api/traces/{trace_id}/spans", {"limit": 100, "cursor": first["next_cursor"]}).json()

        names = [item["name"] for item in first["items"] + rest["items"]]
        assert names == [
            "invoke_agent planner",
            "chat gpt-4o",
            "execute_tool search",
            "chat claude-sonnet-4",
            "late tool",
        ]

    @pytest.mark.parametrize(
        ("params", "parameter"),
        [
            ({"cursor": "not-a-cursor"}, "cursor"),
            ({"cursor": "WzEsIDFd" + "x"}, "cursor"),
            ({"cursor": base64.urlsafe_b64encode(b"[NaN, 1]").decode()}, "cursor"),
            ({"cursor": base64.urlsafe_b64encode(b"[1e999999, 1]").decode()}, "cursor"),
            ({"cursor": base64.urlsafe_b64encode(b"[-1, 1]").decode()}, "cursor"),
            ({"limit": "0"}, "limit"),
            ({"limit": "10001"}, "limit"),
        ],
    )
    def test_bad_span_page_parameters_are_400(self, api: Client, params: dict, parameter: str) -> None:
        trace_id = ingest(agent_trace())
        response = api.get(f"/api/traces/{trace_id}/spans", params)
        assert response.status_code == 400
        assert response.json()["parameter"] == parameter

    def test_json_answers_are_gzipped_when_accepted_and_html_pages_never(self, api: Client) -> None:
        trace_id = ingest(agent_trace())
        url = f"/api/traces/{trace_id}/spans"

        compressed = api.get(url, headers={"accept-encoding": "gzip"})
        plain = api.get(url)
        login_page = Client().get("/accounts/login/", headers={"accept-encoding": "gzip"})

        assert compressed["Content-Encoding"] == "gzip"
        assert json.loads(gzip.decompress(compressed.content)) == plain.json()
        assert "Content-Encoding" not in plain
        assert login_page.status_code == 200
        assert "Content-Encoding" not in login_page

    def test_span_detail_and_ambiguous_ids(self, api: Client) -> None:
        span_id = new_span_id()
        first = ingest(
            [
                SpanSpec(
                    new_trace_id(),
                    span_id,
                    "a",
                    attributes={"k": "v"},
                    events=[("exception", {"exception.type": "ValueError"})],
                )
            ]
        )
        second = ingest([SpanSpec(new_trace_id(), span_id, "b")])

        ambiguous = api.get(f"/api/spans/{span_id}")
        assert ambiguous.status_code == 409
        assert ambiguous.json()["trace_ids"] == sorted([first, second])
        detail = api.get(f"/api/spans/{span_id}", {"trace_id": first}).json()
        assert detail["attributes"] == {"k": "v"}
        assert detail["events"][0]["name"] == "exception"
        assert detail["resource_attributes"]["service.name"] == "agent-svc"

    @pytest.mark.parametrize(
        "url",
        [
            "/api/traces/" + "f" * 32,
            "/api/traces/not-an-id",
            "/api/traces/" + "f" * 32 + "/spans",
            "/api/spans/" + "e" * 16,
            "/api/spans/xyz",
        ],
    )
    def test_unknown_ids_are_404(self, api: Client, url: str) -> None:
        assert api.get(url).status_code == 404

    def test_facets(self, api: Client) -> None:
        ingest(agent_trace())
        ingest([SpanSpec(new_trace_id(), new_span_id(), "x")], "billing", "prod")
        assert api.get("/api/facets").json() == {
            "services": ["agent-svc", "billing"],
            "environments": ["prod", "test"],
            "models": ["claude-sonnet-4", "gpt-4o"],
            "tools": ["search"],
        }


@pytest.mark.django_db
def test_openapi_schema_describes_every_endpoint(api: Client) -> None:
    response = api.get("/api/schema", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/traces",
        "/api/traces/{trace_id}",
        "/api/traces/{trace_id}/spans",
        "/api/spans/{span_id}",
        "/api/facets",
    ):
        assert path in paths


@pytest.mark.django_db
def test_span_detail_marks_a_declared_ref_without_content_as_missing(api: Client) -> None:
    ref = "sha256:" + "ab" * 32
    spec = SpanSpec(
        new_trace_id(),
        new_span_id(),
        "tool",
        attributes={
            "tracefoundry.payload.tool_result_ref": ref,
            "tracefoundry.payload.tool_result_size": 42,
        },
    )
    ingest([spec])

    refs = api.get(f"/api/spans/{spec.span_id}").json()["payload_refs"]
    assert refs == [
        {
            "ref": public_value("ab" * 32),
            "role": "tool_result",
            "attribute": "tracefoundry.payload.tool_result_ref",
            "size_bytes": 42,
            "content_type": None,
            "status": "missing",
        }
    ]


@pytest.mark.django_db
def test_free_text_covers_attribute_values_but_not_payload_hashes(api: Client) -> None:
    spec = SpanSpec(
        new_trace_id(),
        new_span_id(),
        "tool",
        attributes={"custom.note": "findme-value", "tracefoundry.payload.input_ref": "sha256:" + "cd" * 32},
    )
    ingest([spec])

    def found(q: str) -> list[str]:
        return [item["trace_id"] for item in api.get("/api/traces", {"q": q}).json()["items"]]

    assert found("findme") == [spec.trace_id]
    assert found("cdcdcdcd") == []

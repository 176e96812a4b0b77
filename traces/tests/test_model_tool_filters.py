"""The `model` and `tool` filters over the traces' names as text (`models_text`, `tools_text`): case-insensitive
substrings, kept current by every ingest batch and recompute, filled by migration 0010 for older rows, and served
by trigram indexes on Postgres."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from testing.factories import NOW_NS, SpanSpec, export_request, new_span_id, new_trace_id
from traces.ingest import ingest_request, recompute_summaries
from traces.models import Span, Trace
from traces.queries import TraceFilters, filtered_traces

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram indexes are Postgres only")


def call(trace_id: str, parent: str, kind: str, name: str, offset: int = 1) -> SpanSpec:
    attributes = (
        {"gen_ai.operation.name": "chat", "gen_ai.request.model": name}
        if kind == "model"
        else {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name}
    )
    return SpanSpec(trace_id, new_span_id(), f"{kind} {name}", parent, NOW_NS + offset, attributes=attributes)


def stored(*calls: tuple[str, str]) -> str:
    trace_id, root = new_trace_id(), new_span_id()
    spans = [SpanSpec(trace_id, root, "run", start_ns=NOW_NS)]
    spans += [call(trace_id, root, kind, name, i + 1) for i, (kind, name) in enumerate(calls)]
    ingest_request(export_request(spans))
    return trace_id


def found(api: Client, **params: str) -> set[str]:
    return {item["trace_id"] for item in api.get("/api/traces", params).json()["items"]}


@pytest.mark.django_db
class TestFilters:
    def test_case_insensitive_substrings_of_any_name(self, api: Client) -> None:
        mini = stored(("model", "GPT-4o-Mini"), ("tool", "sql_lookup"))
        claude = stored(("model", "claude-sonnet-4"), ("model", "gpt-4o"), ("tool", "Vector_Search"))
        stored(("tool", "calculator"))

        assert found(api, model="4O-MI") == {mini}
        assert found(api, model="gpt-4o") == {mini, claude}
        assert found(api, model="sonnet") == {claude}
        assert found(api, tool="SEARCH") == {claude}
        assert found(api, tool="sql", model="mini") == {mini}
        assert found(api, tool="no-such-tool") == set()

    def test_names_match_as_written_not_as_json(self, api: Client) -> None:
        quoted = stored(("model", 'my "fine-tuned" model'), ("tool", "c:\\tools\\grep"))
        accented = stored(("model", "modèle-été"))

        assert found(api, model='"fine-tuned"') == {quoted}
        assert found(api, tool="\\tools\\") == {quoted}
        assert found(api, model="modèle") == {accented}
        assert found(api, model='", "') == set()  # once the JSON list's separator, never a name

    def test_kept_current_by_later_batches_and_recomputes(self, api: Client) -> None:
        trace_id = stored(("model", "gpt-4o"))
        root = Trace.objects.get(trace_id=trace_id).root_span_id
        ingest_request(export_request([call(trace_id, root, "model", "claude-sonnet-4", 50)]))
        ingest_request(export_request([call(trace_id, root, "tool", "search", 60)]))

        trace = Trace.objects.get(trace_id=trace_id)
        assert (trace.models_text, trace.tools_text) == ("claude-sonnet-4\ngpt-4o", "search")
        assert found(api, model="claude") == found(api, tool="search") == {trace_id}

        Span.objects.filter(trace_id=trace_id, model="claude-sonnet-4").delete()
        recompute_summaries([trace_id])

        assert Trace.objects.values_list("models_text", flat=True).get(trace_id=trace_id) == "gpt-4o"
        assert found(api, model="claude") == set()
        assert found(api, model="GPT") == {trace_id}


@pytest.mark.django_db(transaction=True)
def test_migration_fills_the_texts_of_stored_traces() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("traces", "0009_trace_user_id")])
    try:
        old_trace = executor.loader.project_state([("traces", "0009_trace_user_id")]).apps.get_model("traces", "Trace")
        old_trace.objects.create(
            trace_id="a" * 32, models_used=["claude-sonnet-4", "gpt-4o"], tools_used=["search"], span_count=3
        )
        old_trace.objects.create(trace_id="b" * 32)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes("traces"))

    texts = dict(Trace.objects.values_list("trace_id", "models_text"))
    assert texts == {"a" * 32: "claude-sonnet-4\ngpt-4o", "b" * 32: ""}
    assert Trace.objects.get(trace_id="a" * 32).tools_text == "search"
    assert list(filtered_traces(TraceFilters(model="SONNET")).values_list("trace_id", flat=True)) == ["a" * 32]


@postgres_only
@pytest.mark.django_db
def test_postgres_serves_both_filters_from_their_trigram_indexes() -> None:
    stored(("model", "gpt-4o"), ("tool", "search"))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a handful of rows: make the plan show the index is usable

    model_plan = filtered_traces(TraceFilters(model="gpt-4o")).explain()
    tool_plan = filtered_traces(TraceFilters(tool="sear")).explain()

    assert any(name in model_plan for name in index_and_its_partitions("traces_models_text_trgm_idx"))
    assert any(name in tool_plan for name in index_and_its_partitions("traces_tools_text_trgm_idx"))


def index_and_its_partitions(index: str) -> list[str]:
    """The names a plan gives `index`: its own, or on a partitioned table its partitions' indexes."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT relid::regclass::text FROM pg_partition_tree(%s::regclass) WHERE isleaf", [index])
        return [name for (name,) in cursor.fetchall()]

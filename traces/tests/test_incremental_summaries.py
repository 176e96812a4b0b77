"""Summaries folded batch by batch equal the summary recomputed from every stored span, whatever the order,
re-sends and concurrency: after each batch of a shuffled trace, and after concurrent posts of one trace."""

import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from testing.factories import NOW_NS, SpanSpec, export_request, new_span_id, new_trace_id
from traces import summary
from traces.ingest import ingest_request
from traces.models import Span, Trace

SERVICES = ("planner-svc", "tools-svc", "")
MODELS = ("gpt-4o", "gpt-4o-mini", "claude-sonnet-4")


def tree_trace(rng: random.Random, size: int) -> tuple[list[tuple[SpanSpec, str]], str, int]:
    """A root, LLM and tool steps nested up to four deep, and spans whose parent never arrives; each span with the
    service its resource names. Returns the spans, the root's id and how many spans stay orphans."""
    trace_id = new_trace_id()
    root = SpanSpec(trace_id, new_span_id(), "invoke_agent deep", start_ns=NOW_NS, duration_ns=10**12)
    spans = [(root, "planner-svc")]
    lost_parents = [new_span_id() for _ in range(3)]
    for index in range(size - 1):
        parent = rng.choice(spans)[0].span_id if index % 40 else rng.choice(lost_parents)
        llm = rng.random() < 0.5
        attributes: dict[str, Any] = (
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": rng.choice(MODELS),
                "gen_ai.usage.input_tokens": rng.randint(1, 5000),
                "gen_ai.usage.output_tokens": rng.randint(1, 900),
                "tracefoundry.cost.usd": rng.choice(["0.0012345678", "0.5", "2.25"]),
            }
            if llm
            else {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": f"tool_{rng.randint(0, 9)}"}
        )
        # Long distinct values: the trace's words overflow the search text, so its cut-off is exercised too.
        attributes["note"] = f"{rng.getrandbits(64):016x} " + "x" * rng.randint(50, 190)
        if rng.random() < 0.1:
            attributes["tracefoundry.retry.count"] = rng.randint(1, 3)
        if rng.random() < 0.05:
            attributes["tracefoundry.timeout"] = True
        spec = SpanSpec(
            trace_id,
            new_span_id(),
            f"{'chat' if llm else 'execute_tool'} {index}",
            parent,
            # Some spans start before the root: the earliest span and the root differ.
            NOW_NS + rng.randint(-(10**6), 10**9),
            rng.randint(1, 10**8),
            attributes,
            status_code=2 if rng.random() < 0.05 else 0,
        )
        spans.append((spec, rng.choice(SERVICES)))
    orphans = sum(1 for spec, _ in spans if spec.parent_span_id in lost_parents)
    return spans, root.span_id, orphans


def request_of(spans: list[tuple[SpanSpec, str]]) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    for service in SERVICES:
        group = [spec for spec, named in spans if named == service]
        if group:
            request.resource_spans.extend(export_request(group, service=service).resource_spans)
    return request


def batches_of(rng: random.Random, spans: list[tuple[SpanSpec, str]]) -> list[list[tuple[SpanSpec, str]]]:
    """Shuffled batches of 1 to 40 spans, with re-sent batches and batches overlapping what was sent before."""
    shuffled = rng.sample(spans, len(spans))
    batches: list[list[tuple[SpanSpec, str]]] = []
    while shuffled:
        size = rng.randint(1, 40)
        batch, shuffled = shuffled[:size], shuffled[size:]
        batches.append(batch)
        if rng.random() < 0.2:
            batches.append(list(batch))
        if rng.random() < 0.2:
            sent = [span for earlier in batches for span in earlier]
            batches.append(rng.sample(sent, min(5, len(sent))) + shuffled[:3])
    return batches


def stored_summary(trace_id: str) -> dict[str, Any]:
    return Trace.objects.values(*summary.FIELDS, "search_text", "search_text_left_out").get(trace_id=trace_id)


def recomputed_summary(trace_id: str) -> dict[str, Any]:
    spans = list(
        Span.objects.filter(trace_id=trace_id).values(*summary.SPAN_COLUMNS, "trace_id", "status_message", "attributes")
    )
    words = set().union(*(summary.search_words(span) for span in spans))
    text, left_out = summary.merge_search_text("", "", words)
    recomputed = summary.from_scratch(spans)
    return {
        **{name: recomputed[name] for name in summary.FIELDS},
        "search_text": text,
        "search_text_left_out": left_out,
    }


@pytest.mark.django_db
def test_every_batch_of_a_shuffled_trace_leaves_the_summary_a_full_recompute_gives() -> None:
    rng = random.Random(16)
    spans, root_id, orphans = tree_trace(rng, 300)
    trace_id = spans[0][0].trace_id

    for batch in batches_of(rng, spans):
        ingest_request(request_of(batch))
        assert stored_summary(trace_id) == recomputed_summary(trace_id)

    final = stored_summary(trace_id)
    assert (final["span_count"], final["orphan_count"], final["root_span_id"]) == (300, orphans, root_id)
    assert (final["root_span_name"], final["service"]) == ("invoke_agent deep", "planner-svc")
    assert final["search_text_left_out"] != ""  # the words overflowed the search text


@pytest.mark.django_db
def test_an_old_summary_without_a_top_span_is_rebuilt_on_the_next_batch() -> None:
    rng = random.Random(3)
    spans, root_id, _ = tree_trace(rng, 60)
    trace_id = spans[0][0].trace_id
    ingest_request(request_of(spans[:30]))
    Trace.objects.filter(trace_id=trace_id).update(top_span_id="", service_span_counts={}, span_count=1)

    ingest_request(request_of(spans[30:]))

    assert stored_summary(trace_id) == recomputed_summary(trace_id)
    assert stored_summary(trace_id)["root_span_id"] == root_id


@pytest.mark.django_db(transaction=True)
def test_concurrent_shuffled_batches_of_two_traces_add_up_exactly(live_server, otlp_headers) -> None:
    rng = random.Random(7)
    first, first_root, first_orphans = tree_trace(rng, 400)
    second, second_root, second_orphans = tree_trace(rng, 250)
    batches = batches_of(rng, first + second)
    bodies = [request_of(batch).SerializeToString() for batch in batches]

    def send(body: bytes) -> int:
        url = live_server.url + "/otlp/v1/traces"
        return requests.post(url, data=body, headers=otlp_headers(), timeout=60).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(send, bodies))

    assert statuses == [200] * len(bodies)
    for spans, root_id, orphans in ((first, first_root, first_orphans), (second, second_root, second_orphans)):
        trace_id = spans[0][0].trace_id
        stored = stored_summary(trace_id)
        assert stored == recomputed_summary(trace_id)
        assert (stored["span_count"], stored["orphan_count"], stored["root_span_id"]) == (len(spans), orphans, root_id)


def test_search_text_merged_in_any_split_equals_the_text_of_all_words() -> None:
    rng = random.Random(5)
    words = {f"{rng.choice('abcdefgh')}{'w' * rng.randint(0, 12)}{rng.getrandbits(16):x}" for _ in range(200)}
    whole = summary.merge_search_text("", "", words, limit=300)
    for _ in range(50):
        text, left_out = "", ""
        remaining = rng.sample(sorted(words), len(words))
        while remaining:
            size = rng.randint(1, 30)
            part, remaining = set(remaining[:size]), remaining[size:]
            text, left_out = summary.merge_search_text(text, left_out, part, limit=300)
        assert (text, left_out) == whole
    assert len(whole[0]) <= 300
    assert whole[1] != ""

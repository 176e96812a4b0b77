"""Model, tokens, tools and errors are mapped from what each library's release really sent (`testing.goldens`)."""

import pytest

from testing.goldens import golden_spans
from traces.models import SpanCategory
from traces.semconv import map_span

# (library, LLM calls, embedding calls, tool calls, models, input tokens, output tokens, errors)
EXPECTED_MEANING = [
    ("langfuse", 3, 1, 1, {"gpt-4o-mini-2024-07-18", "text-embedding-3-small", "error-model"}, 63, 14, 1),
    # MLflow and OpenInference name the model of a failed call only inside the request (a payload); MLflow
    # states no tokens for embeddings.
    ("mlflow", 4, 1, 0, {"gpt-4o-mini-2024-07-18", "text-embedding-3-small", ""}, 63, 21, 1),
    ("openinference-openai", 4, 1, 0, {"gpt-4o-mini-2024-07-18", "text-embedding-3-small", ""}, 84, 21, 1),
    ("otel-genai-span", 4, 1, 0, {"gpt-4o-mini-2024-07-18", "text-embedding-3-small", "error-model"}, 84, 21, 1),
    ("otel-genai-event", 4, 1, 0, {"gpt-4o-mini-2024-07-18", "text-embedding-3-small", "error-model"}, 84, 21, 1),
    ("openllmetry", 4, 1, 0, {"gpt-4o-mini-2024-07-18", "text-embedding-3-small", "error-model"}, 84, 21, 1),
    ("vercel-ai", 3, 1, 1, {"gpt-4o-mini-2024-07-18", "text-embedding-3-small", "error-model"}, 63, 14, 2),
    ("traceloop-sdk", 4, 1, 1, {"gpt-4o-mini-2024-07-18", "text-embedding-3-small", "error-model"}, 84, 21, 1),
    # ADK names models as LiteLLM does (`openai/…`) and no response model; its legacy `call_llm` wrappers (schema
    # 1) carry the usage of the `generate_content` span inside them and are not counted again.
    ("google-adk", 5, 0, 2, {"openai/gpt-4o-mini", "openai/error-model"}, 84, 28, 3),
]


@pytest.mark.parametrize(
    ("library", "llm", "embedding", "tools", "models", "tokens_in", "tokens_out", "errors"), EXPECTED_MEANING
)
def test_model_tokens_tools_and_errors_are_mapped(
    library: str, llm: int, embedding: int, tools: int, models: set[str], tokens_in: int, tokens_out: int, errors: int
) -> None:
    spans = golden_spans(library)
    meanings = [map_span(s.name, s.attributes, s.events, s.status_code, s.status_message) for s in spans]
    counted = [m for m in meanings if m.category in (SpanCategory.LLM, SpanCategory.EMBEDDING)]
    assert [m.category for m in meanings].count(SpanCategory.LLM) == llm
    assert [m.category for m in meanings].count(SpanCategory.EMBEDDING) == embedding
    assert [m.tool_name for m in meanings if m.category == SpanCategory.TOOL] == ["lookup_order"] * tools
    assert {m.model for m in counted} == models
    assert (sum(m.input_tokens for m in counted), sum(m.output_tokens for m in counted)) == (tokens_in, tokens_out)
    assert sum(1 for span in spans if span.status_code == 2) == errors

"""`traces.pricing`: longest-prefix model matching without case and past a provider prefix, cost arithmetic, and a
table that cannot be read or holds a bad entry refused with the file named."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from testing.goldens import golden_spans
from traces.pricing import ModelPrice, PriceTable, configured_price_table, load_price_table
from traces.semconv import map_span

TABLE = PriceTable(
    {
        "gpt-4o": ModelPrice(Decimal("2.50"), Decimal("10.00")),
        "gpt-4o-mini": ModelPrice(Decimal("0.15"), Decimal("0.60")),
        "Claude-Sonnet-4": ModelPrice(Decimal("3"), Decimal("15")),
    }
)


@pytest.mark.parametrize(
    ("model", "input_per_million"),
    [
        ("gpt-4o", Decimal("2.50")),
        ("gpt-4o-2024-08-06", Decimal("2.50")),
        ("gpt-4o-mini", Decimal("0.15")),
        ("gpt-4o-mini-2024-07-18", Decimal("0.15")),
        ("GPT-4O-MINI", Decimal("0.15")),
        ("claude-sonnet-4-20250514", Decimal("3")),
        ("gpt-4", None),
        ("my-gpt-4o", None),
        # Provider-qualified names (LiteLLM, OpenRouter, Bedrock, Vertex AI) are priced as the model they name.
        ("openai/gpt-4o-mini", Decimal("0.15")),
        ("azure/gpt-4o-2024-08-06", Decimal("2.50")),
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", Decimal("3")),
        ("publishers/openai/models/gpt-4o", Decimal("2.50")),
        ("openai/gpt-4", None),
        ("openai/my-gpt-4o", None),
        ("a/b/c/d/gpt-4o", Decimal("2.50")),
        ("a/b/c/d/e/gpt-4o", None),  # past MAX_PREFIXES: a name of separators costs a bounded number of tries
    ],
)
def test_a_model_matches_the_longest_key_it_starts_with(model: str, input_per_million: Decimal | None) -> None:
    price = TABLE.price_of(model)

    assert (price.input_per_million if price else None) == input_per_million


@pytest.mark.parametrize(
    ("model", "input_tokens", "output_tokens", "cost"),
    [
        ("gpt-4o", 1_000_000, 0, Decimal("2.50")),
        ("gpt-4o", 1000, 500, Decimal("0.0075")),
        ("gpt-4o-mini", 2_000_000, 1_000_000, Decimal("0.90")),
        ("unknown-model", 1000, 1000, Decimal(0)),
        ("", 1000, 1000, Decimal(0)),
    ],
)
def test_cost_is_tokens_times_price_per_million(
    model: str, input_tokens: int, output_tokens: int, cost: Decimal
) -> None:
    assert TABLE.cost_usd(model, input_tokens, output_tokens) == cost


def test_the_shipped_table_loads_and_prices_a_dated_model() -> None:
    table = load_price_table(settings.MODEL_PRICES_FILE)

    assert table.cost_usd("gpt-4o-2024-08-06", 1_000_000, 1_000_000) == Decimal("12.50")
    assert configured_price_table().price_of("claude-opus-4-1") == ModelPrice(Decimal("15.00"), Decimal("75.00"))


def test_the_model_google_adk_names_through_litellm_is_priced_as_itself() -> None:
    spans = golden_spans("google-adk")  # what ADK really sent: `openai/gpt-4o-mini`
    models = {map_span(s.name, s.attributes, s.events, s.status_code, s.status_message).model for s in spans}
    table = configured_price_table()

    assert "openai/gpt-4o-mini" in models
    assert table.price_of("openai/gpt-4o-mini") == table.price_of("gpt-4o-mini") is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("models:\n  gpt-x: {input: 1}\n", "model 'gpt-x' needs numeric 'input' and 'output'"),
        ("models:\n  gpt-x: {input: cheap, output: 1}\n", "model 'gpt-x' needs numeric 'input' and 'output'"),
        ("models: [gpt-x]\n", "'models' must be a mapping"),
        ("models: {gpt-x: [\n", "cannot read model price table"),
    ],
)
def test_a_bad_table_is_refused_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(text)

    with pytest.raises(ImproperlyConfigured, match=message) as refused:
        load_price_table(path)
    assert str(path) in str(refused.value)


def test_an_empty_or_missing_table_prices_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("")

    assert load_price_table(tmp_path / "empty.yaml").cost_usd("gpt-4o", 10, 10) == 0
    with pytest.raises(ImproperlyConfigured, match="cannot read model price table"):
        load_price_table(tmp_path / "missing.yaml")

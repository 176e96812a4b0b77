"""Cost of an LLM call from a price table (`deploy/model-prices.yaml`, USD per million tokens).

Pure apart from reading the table once. A model matches the longest key it starts with, ignoring case. A name
that matches none is tried again without its provider prefix, up to each of its first MAX_PREFIXES `/` or `.` in
turn: LiteLLM and OpenRouter name models `openai/gpt-4o-mini`, Bedrock `us.anthropic.claude-3-5-sonnet-20241022-v2:0`,
Vertex AI `publishers/google/models/gemini-2.5-flash` (the most, three).
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import islice
from pathlib import Path

import yaml
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_PER_MILLION = Decimal(1_000_000)
_PROVIDER_SEPARATOR = re.compile(r"[/.]")
# Each try compares the name with every key: a sender's name made of separators must not cost a span thousands.
MAX_PREFIXES = 4


@dataclass(frozen=True, slots=True)
class ModelPrice:
    input_per_million: Decimal
    output_per_million: Decimal


class PriceTable:
    def __init__(self, prices: dict[str, ModelPrice]) -> None:
        self._prices = {model.lower(): price for model, price in prices.items()}
        self._keys_longest_first = sorted(self._prices, key=len, reverse=True)

    def price_of(self, model: str) -> ModelPrice | None:
        model = model.lower()
        for separator in (None, *islice(_PROVIDER_SEPARATOR.finditer(model), MAX_PREFIXES)):
            price = self._price_of_name(model[separator.end() :] if separator else model)
            if price is not None:
                return price
        return None

    def _price_of_name(self, model: str) -> ModelPrice | None:
        if model in self._prices:
            return self._prices[model]
        for key in self._keys_longest_first:
            if model.startswith(key):
                return self._prices[key]
        return None

    def cost_usd(self, model: str, input_tokens: int, output_tokens: int) -> Decimal:
        price = self.price_of(model) if model else None
        if price is None:
            return Decimal(0)
        return (input_tokens * price.input_per_million + output_tokens * price.output_per_million) / _PER_MILLION


def load_price_table(path: Path) -> PriceTable:
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ImproperlyConfigured(f"cannot read model price table {path}: {exc}") from exc
    entries = (document or {}).get("models") or {}
    if not isinstance(entries, dict):
        raise ImproperlyConfigured(f"{path}: 'models' must be a mapping of model name to prices")
    prices = {}
    for model, entry in entries.items():
        try:
            prices[str(model)] = ModelPrice(Decimal(str(entry["input"])), Decimal(str(entry["output"])))
        except (TypeError, KeyError, InvalidOperation) as exc:
            raise ImproperlyConfigured(f"{path}: model {model!r} needs numeric 'input' and 'output'") from exc
    return PriceTable(prices)


@lru_cache(maxsize=1)
def configured_price_table() -> PriceTable:
    return load_price_table(settings.MODEL_PRICES_FILE)

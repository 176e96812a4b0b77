"""The demo agent's tools: deterministic search, calculator and database lookup, or a replay of a recording.

`LiveTools` computes every output from the arguments alone (hashes, no randomness, no network), so the
same call always answers the same. `RecordedTools` answers from a recording made by an earlier run (the
n-th call gets the n-th recorded output, when it asks for the same tool with the same arguments; otherwise
the replay diverged), which is how dry replay re-runs the agent without its tools.
Latency and failures are not the tools' business: the agent simulates them from its seed.
"""

import ast
import hashlib
import json
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

TOOL_NAMES = ("search", "calculator", "database_lookup")
_TOPICS = (
    "latency budgets",
    "token pricing",
    "vector index tuning",
    "retry policies",
    "on-call runbooks",
    "cache hit ratios",
    "queue backpressure",
    "schema migrations",
)
_SITES = ("docs.example.com", "wiki.example.org", "blog.example.net", "kb.example.io")
_STATUSES = ("shipped", "processing", "delayed", "refunded", "delivered")
_PLANS = ("free", "team", "business", "enterprise")


class ToolError(Exception):
    """A tool could not answer (the agent reports it and carries on)."""


class ReplayDivergence(Exception):
    """A replayed run asked for a tool call the recording does not have: the agent's behaviour changed."""


class Tools(Protocol):
    def call(self, index: int, name: str, arguments: dict[str, Any]) -> Any:
        """Answer the `index`-th tool call of the run (0-based)."""
        ...


class LiveTools:
    """Compute tool outputs from their arguments."""

    def call(self, index: int, name: str, arguments: dict[str, Any]) -> Any:
        handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "search": _search,
            "calculator": _calculator,
            "database_lookup": _database_lookup,
        }
        if name not in handlers:
            raise ToolError(f"unknown tool {name!r}")
        return handlers[name](arguments)


@dataclass
class RecordedTools:
    """Answer from a recording (`Recording.tool_calls`, or the `tool_calls` list of its JSON form)."""

    tool_calls: list[dict[str, Any]]

    @classmethod
    def from_recording(cls, recording: Any) -> "RecordedTools":
        calls = recording["tool_calls"] if isinstance(recording, dict) else recording.tool_calls
        return cls([dict(call) for call in calls])

    def call(self, index: int, name: str, arguments: dict[str, Any]) -> Any:
        if index >= len(self.tool_calls):
            raise ReplayDivergence(f"tool call #{index + 1} ({name}) is not in the recording")
        recorded = self.tool_calls[index]
        if recorded["tool"] != name:
            raise ReplayDivergence(
                f"tool call #{index + 1}: the recording has {recorded['tool']}, the run asked {name}"
            )
        # An output recorded for other arguments answers another question (an order's row where a customer's is
        # expected): handing it over would break the run instead of reporting where it went another way.
        asked = json.loads(json.dumps(arguments, sort_keys=True, default=str))
        if "arguments" in recorded and recorded["arguments"] != asked:
            raise ReplayDivergence(
                f"tool call #{index + 1} ({name}): the run asked with arguments {json.dumps(asked, sort_keys=True)}, "
                f"the recording has {json.dumps(recorded['arguments'], sort_keys=True, default=str)}"
            )
        if recorded.get("error"):
            raise ToolError(recorded["error"])
        return recorded["output"]


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).digest()


def _search(arguments: dict[str, Any]) -> list[dict[str, Any]]:
    query = str(arguments.get("query", ""))
    digest = _digest("search", query)
    results = []
    for rank in range(3):
        topic = _TOPICS[digest[rank] % len(_TOPICS)]
        site = _SITES[digest[rank + 3] % len(_SITES)]
        results.append(
            {
                "rank": rank + 1,
                "title": f"{topic.title()}: notes {digest[rank + 6] % 90 + 10}",
                "url": f"https://{site}/{topic.replace(' ', '-')}/{digest[rank + 9 : rank + 11].hex()}",
                "snippet": f"How teams handle {topic} when asked about {query[:60]!r}.",
                "score": round(1 - rank * 0.17 - digest[rank + 15] / 2550, 3),
            }
        )
    return results


_OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.Mod: operator.mod,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def _calculator(arguments: dict[str, Any]) -> dict[str, Any]:
    expression = str(arguments.get("expression", ""))
    try:
        value = _evaluate(ast.parse(expression, mode="eval").body)
    except (SyntaxError, ZeroDivisionError, ValueError, TypeError) as exc:
        raise ToolError(f"cannot evaluate {expression!r}: {exc}") from exc
    return {"expression": expression, "value": round(value, 6)}


def _evaluate(node: ast.AST) -> float:
    # Arithmetic on numbers only: no names, calls or attributes, so no code runs.
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        if isinstance(node.op, ast.Pow) and abs(_evaluate(node.right)) > 64:
            raise ValueError("exponent too large")
        return float(_OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right)))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return float(_OPERATORS[type(node.op)](_evaluate(node.operand)))
    raise ValueError(f"unsupported expression element {type(node).__name__}")


def _database_lookup(arguments: dict[str, Any]) -> dict[str, Any]:
    table = str(arguments.get("table", ""))
    key = str(arguments.get("key", ""))
    digest = _digest("db", table, key)
    if table == "orders":
        return {
            "table": table,
            "key": key,
            "row": {
                "order_id": key,
                "status": _STATUSES[digest[0] % len(_STATUSES)],
                "items": digest[1] % 5 + 1,
                "total_usd": round((digest[2] * 256 + digest[3]) / 100, 2),
            },
        }
    if table == "customers":
        return {
            "table": table,
            "key": key,
            "row": {
                "customer_id": key,
                "plan": _PLANS[digest[0] % len(_PLANS)],
                "seats": digest[1] % 200 + 1,
                "open_tickets": digest[2] % 4,
            },
        }
    raise ToolError(f"no table named {table!r}")

"""Text diffs of two payloads of the same role (prompt, completion, tool arguments or result). Pure.

A payload that is a list of chat messages (GenAI `{"role", "parts"}` or `{"role", "content"}`, also wrapped
in a one-key object as server-side capture stores it) is diffed message by message, by position; anything
else is pretty-printed JSON (or the raw text) diffed as one. Diffs are unified-diff lines without headers.
"""

import difflib
import json
from dataclasses import dataclass
from typing import Any

CONTEXT_LINES = 3


@dataclass(frozen=True, slots=True)
class MessageDiff:
    index: int
    role_a: str | None  # None: the message is only in the other run
    role_b: str | None
    changed: bool
    lines: list[str]


@dataclass(frozen=True, slots=True)
class PayloadDiff:
    role: str
    kind: str  # "messages" or "text"
    changed: bool
    messages: list[MessageDiff]
    lines: list[str]


def diff_payloads(role: str, content_a: str | None, content_b: str | None) -> PayloadDiff:
    messages_a, messages_b = _messages(content_a), _messages(content_b)
    if messages_a is not None and messages_b is not None:
        diffs = [
            _message_diff(index, _at(messages_a, index), _at(messages_b, index))
            for index in range(max(len(messages_a), len(messages_b)))
        ]
        return PayloadDiff(role, "messages", any(d.changed for d in diffs), diffs, [])
    lines = _lines(_pretty(content_a), _pretty(content_b))
    return PayloadDiff(role, "text", bool(lines), [], lines)


def _at(messages: list[dict[str, Any]], index: int) -> dict[str, Any] | None:
    return messages[index] if index < len(messages) else None


def _message_diff(index: int, a: dict[str, Any] | None, b: dict[str, Any] | None) -> MessageDiff:
    lines = _lines(_message_text(a), _message_text(b))
    return MessageDiff(
        index=index,
        role_a=str(a.get("role", "")) if a is not None else None,
        role_b=str(b.get("role", "")) if b is not None else None,
        changed=bool(lines) or (a or {}).get("role") != (b or {}).get("role"),
        lines=lines,
    )


def _messages(content: str | None) -> list[dict[str, Any]] | None:
    if content is None:
        return []
    try:
        value = json.loads(content)
    except ValueError:
        return None
    if isinstance(value, dict) and len(value) == 1:
        value = next(iter(value.values()))
        if isinstance(value, str):
            return _messages(value)
    if isinstance(value, list) and value and all(isinstance(item, dict) and "role" in item for item in value):
        return value
    return None


def _message_text(message: dict[str, Any] | None) -> str:
    if message is None:
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    parts = message.get("parts")
    if isinstance(parts, list) and all(isinstance(part, dict) for part in parts):
        return "\n".join(
            str(part["content"]) if isinstance(part.get("content"), str) else _dump(part) for part in parts
        )
    rest = {key: value for key, value in message.items() if key != "role"}
    return _dump(rest)


def _pretty(content: str | None) -> str:
    if content is None:
        return ""
    try:
        return _dump(json.loads(content))
    except ValueError:
        return content


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def _lines(a: str, b: str) -> list[str]:
    if a == b:
        return []
    diff = difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=CONTEXT_LINES)
    return [line for line in diff if not line.startswith(("---", "+++"))]

"""Parsing untrusted JSON with a bound on nesting depth, so no document can exhaust the interpreter's stack.

Pure: no I/O. Python's parser raises RecursionError past roughly a thousand levels, and a document nested just
below that still breaks whatever walks it recursively later (encoders, serializers). Every JSON that arrives
from outside (OTLP/JSON bodies, bundle manifests and spans, recordings, cursors) goes through `loads`, which
answers JsonTooDeep (a ValueError naming the limit) for anything nested deeper than MAX_DEPTH.

The depth check walks every container without recursion (about 1.5x the parse time). OTLP/JSON bodies, up to
64 MiB, skip it (`max_depth=None`): protobuf's JSON parser bounds the depth of every field it reads, and the
fields it ignores are never walked.
"""

import json
from collections.abc import Iterable
from typing import Any

# Objects and arrays counted together. OTLP/JSON needs about 8 levels plus 2 per level of nested attribute
# values; protobuf's own parser stops at 100 message levels, which this stays below.
MAX_DEPTH = 64


class JsonTooDeep(ValueError):
    """The document is nested deeper than the limit."""


def loads(data: bytes | str, max_depth: int | None = MAX_DEPTH) -> Any:
    """The parsed document; json.JSONDecodeError or UnicodeDecodeError if it is not JSON, JsonTooDeep if it
    is nested deeper than `max_depth` (None: only as deep as the parser itself can go)."""
    try:
        document = json.loads(data)
    except RecursionError as exc:
        limit = f"deeper than {max_depth} levels" if max_depth is not None else "too deeply to be read"
        raise JsonTooDeep(f"JSON nested {limit}") from exc
    if max_depth is not None and depth_exceeds(document, max_depth):
        raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels")
    return document


def depth_exceeds(document: Any, max_depth: int) -> bool:
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False

"""`traces.compare.align` and `traces.payload_diff`: the pure parts of comparing runs, on known answers."""

import json

from traces.compare import align
from traces.payload_diff import diff_payloads


def keys(text: str) -> list[tuple[str, str, str]]:
    return [("tool", letter, letter) for letter in text]


def test_align_matches_a_longest_common_subsequence_in_order() -> None:
    assert align(keys("abcd"), keys("abcd")) == [(0, 0), (1, 1), (2, 2), (3, 3)]
    assert align(keys("abd"), keys("abcd")) == [(0, 0), (1, 1), (None, 2), (2, 3)]
    assert align(keys("abxd"), keys("abyd")) == [(0, 0), (1, 1), (2, None), (None, 2), (3, 3)]
    assert align(keys("aab"), keys("ab")) == [(0, None), (1, 0), (2, 1)]


def test_align_with_an_empty_run() -> None:
    assert align([], keys("ab")) == [(None, 0), (None, 1)]
    assert align(keys("ab"), []) == [(0, None), (1, None)]
    assert align([], []) == []


def test_align_keeps_the_longest_match_over_a_greedy_one() -> None:
    pairs = align(keys("xabc"), keys("abcx"))

    assert [(i, j) for i, j in pairs if i is not None and j is not None] == [(1, 0), (2, 1), (3, 2)]


def test_chat_messages_are_diffed_one_by_one_also_in_genai_parts_form() -> None:
    a = json.dumps(
        {"gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}])}
    )
    b = json.dumps([{"role": "user", "content": "hello"}, {"role": "assistant", "content": "yes"}])

    diff = diff_payloads("input", a, b)

    assert (diff.kind, diff.changed) == ("messages", True)
    first, second = diff.messages
    assert first.lines == ["@@ -1 +1 @@", "-hi", "+hello"]
    assert (second.role_a, second.role_b, second.lines) == (None, "assistant", ["@@ -0,0 +1 @@", "+yes"])


def test_other_payloads_are_diffed_as_pretty_json_or_text() -> None:
    diff = diff_payloads("tool_args", '{"q": "refunds", "limit": 5}', '{"limit": 5, "q": "returns"}')

    assert diff.kind == "text"
    assert diff.lines == ["@@ -1,4 +1,4 @@", " {", '   "limit": 5,', '-  "q": "refunds"', '+  "q": "returns"', " }"]
    assert diff_payloads("output", "same words", "same words").changed is False
    assert diff_payloads("output", "plain", None).lines == ["@@ -1 +0,0 @@", "-plain"]

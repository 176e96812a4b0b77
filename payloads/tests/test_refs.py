"""`payloads.refs` against the golden cases the explorer's mirror (frontend/src/lib/payload-refs.ts) is tested
against too: payloads/tests/fixtures/payload_refs.json, a list of {"attributes": {...}, "refs": [{"role",
"hash", "size"}]} with `hash` the hex digest and `size` null when there is none."""

import json
from pathlib import Path
from typing import Any

import pytest

from payloads import refs

CASES = json.loads((Path(__file__).parent / "fixtures" / "payload_refs.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_refs_of_a_span_match_the_golden_cases(case: dict[str, Any]) -> None:
    found = [{"role": ref.role, "hash": ref.sha256, "size": ref.size} for ref in refs.refs_of(case["attributes"])]
    assert found == case["refs"]


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_each_golden_ref_is_built_back_from_its_role_and_hash(case: dict[str, Any]) -> None:
    attributes = case["attributes"]
    assert [attributes[refs.ref_key(ref["role"])] for ref in case["refs"]] == [
        refs.ref_value(ref["hash"]) for ref in case["refs"]
    ]


def test_keys_and_values_are_built_and_parsed_the_same_way() -> None:
    sha = "ab" * 32
    assert refs.ref_key("tool_result") == "tracefoundry.payload.tool_result_ref"
    assert refs.size_key("tool_result") == "tracefoundry.payload.tool_result_size"
    assert refs.ref_value(sha) == f"sha256:{sha}"
    assert refs.parse_key("tracefoundry.payload.tool_result_size") == ("tool_result", "size")
    assert refs.ref_role(refs.ref_key("step_2")) == "step_2"
    assert refs.ref_role(refs.size_key("step_2")) is None
    assert refs.sha256_of_value(refs.ref_value(sha)) == sha


@pytest.mark.parametrize("typed", ["sha256:" + "AB" * 32, "ab" * 32, "sha256:" + "ab" * 32])
def test_a_ref_typed_into_a_url_may_be_bare_or_uppercase(typed: str) -> None:
    assert refs.parse_ref(typed) == "ab" * 32


@pytest.mark.parametrize("typed", ["sha256:" + "ab" * 31, "md5:" + "ab" * 32, "sha256:" + "ab" * 32 + "\n", ""])
def test_anything_else_typed_into_a_url_is_no_ref(typed: str) -> None:
    with pytest.raises(ValueError, match="not a payload ref"):
        refs.parse_ref(typed)

"""`bundles.agent_rerun`: a demo-agent trace re-run with its recorded tool outputs compares equal, a changed
span is named, and traces that are no demo-agent run (or lack their recording) are skipped with the reason."""

import json
from dataclasses import replace

import pytest
from tracefoundry.demo import run_agent

from bundles.agent_rerun import RECORDING_ATTRIBUTE, rerun
from payloads import refs
from payloads.contracts import OtlpSpan
from payloads.hashing import sha256_hex

START_NS = 1_767_225_600_000_000_000


def _span(index: int, name: str, parent: int, status: str, attributes: dict[str, str]) -> OtlpSpan:
    return OtlpSpan(
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
        span_id=f"{index + 1:016x}",
        parent_span_id=f"{parent + 1:016x}" if parent >= 0 else "",
        name=name,
        kind=1,
        start_unix_nano=START_NS + index,
        end_unix_nano=START_NS + index + 1,
        status_code=2 if status == "error" else 1,
        status_message="",
        trace_state="",
        flags=0,
        attributes=attributes,
        resource_attributes={},
        events=[],
        links=[],
        scope={},
    )


def _recorded_trace(scenario: str) -> tuple[list[OtlpSpan], dict[str, bytes]]:
    """The spans a demo run records (in tree order, as the SDK would export them) and its recording payload."""
    recording = run_agent(scenario, seed=7, start_ns=START_NS)
    content = json.dumps(recording.replay_payload()).encode()
    sha = sha256_hex(content)
    spans = [
        _span(i, s["name"], s["parent"], s["status"], {RECORDING_ATTRIBUTE: refs.ref_value(sha)} if i == 0 else {})
        for i, s in enumerate(recording.spans)
    ]
    return spans, {sha: content}


@pytest.mark.parametrize("scenario", ["happy", "retry_storm", "llm_error"])
def test_a_recorded_demo_run_re_runs_to_the_same_structure(scenario: str) -> None:
    spans, payloads = _recorded_trace(scenario)

    result = rerun(spans, payloads)

    assert (result.check.ok, result.check.skipped, result.differences) == (True, False, ())
    assert f"scenario {scenario}, seed 7" in result.check.detail


def test_a_renamed_span_is_named_as_a_difference() -> None:
    spans, payloads = _recorded_trace("happy")
    spans[1] = replace(spans[1], name="renamed step")

    result = rerun(spans, payloads)

    assert not result.check.ok
    assert "recorded span #2 'renamed step [ok]' (depth 1) is not in the re-run" in result.differences


def test_a_trace_without_a_recording_is_skipped() -> None:
    spans, _ = _recorded_trace("happy")

    result = rerun([replace(span, attributes={}) for span in spans], {})

    assert (result.check.ok, result.check.skipped) == (True, True)
    assert result.check.detail == "not a demo-agent trace (no recording payload on any span)"


def test_a_recording_that_is_not_available_is_skipped_naming_it() -> None:
    spans, payloads = _recorded_trace("happy")
    [sha] = payloads

    result = rerun(spans, {})

    assert result.check.skipped
    assert f"its recording payload sha256:{sha} is not available here" in result.check.detail


@pytest.mark.parametrize("content", [b"not json", b"[]", b'{"format": "something else"}'])
def test_a_recording_payload_that_is_no_recording_fails(content: bytes) -> None:
    spans, payloads = _recorded_trace("happy")
    [sha] = payloads

    result = rerun(spans, {sha: content})

    assert (result.check.ok, result.check.skipped) == (False, False)
    assert result.check.detail == f"the recording payload sha256:{sha} is not a demo-agent recording"

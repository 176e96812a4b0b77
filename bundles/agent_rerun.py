"""Re-running the demo agent of a recorded trace with its recorded tool outputs, for dry replay.

A trace is the demo agent's when a span carries a `recording` payload (`tracefoundry.payload.recording_ref`)
whose JSON has the demo recording format: agent, scenario, seed and every tool call with its output. The
agent (`tracefoundry.demo`, from the Python SDK) is run again from the same scenario and seed with
`RecordedTools` instead of live tools, and its span structure (tree order, names, ok/error) is compared line
by line with the recorded trace's; tool-call arguments are compared too, since a changed tool output changes
what the agent asks next, and a run that asks for a tool call the recording lacks, or asks it with other
arguments, stops with that divergence.

Nothing is written: without a configured SDK client in this process the re-run's spans go to OpenTelemetry's
no-op tracer and its payloads are only hashed. If this process has configured the TraceFoundry SDK itself, the
re-run is skipped rather than let its spans reach that client's exporter.

The recording comes from the trace (or an uploaded bundle), so it is untrusted: it is parsed with a depth
bound, and whatever the agent raises on it (a recording edited by hand, or made by another agent version) is
reported as a failed check, never an error of the request.

Known limit: recordings made before `run_scenario` was recorded name the scenario a `mix` run's seed chose,
not `mix`; when replaying that scenario directly differs, `mix` with the same seed is replayed too and counts
if it matches exactly.
"""

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tracefoundry.client import current_client
from tracefoundry.demo import RECORDING_FORMAT, RecordedTools, ReplayDivergence, run_agent
from tracefoundry.demo import structure_from_spans as demo_structure

from bundles.replay_checks import Check
from payloads import refs
from payloads.contracts import OtlpSpan
from tracefoundry_site import json_limits

RECORDING_ATTRIBUTE = refs.ref_key("recording")
_NAME = "agent_rerun"


@dataclass(frozen=True, slots=True)
class RerunResult:
    check: Check
    differences: tuple[str, ...] = ()


def rerun(spans: Sequence[OtlpSpan], payloads: Mapping[str, bytes]) -> RerunResult:
    """Re-run the trace's demo agent with its recorded tool outputs and compare (skipped for other traces)."""
    recording_span = next((span for span in spans if RECORDING_ATTRIBUTE in span.attributes), None)
    if recording_span is None:
        return _skipped("not a demo-agent trace (no recording payload on any span)")
    sha = refs.sha256_of_value(recording_span.attributes[RECORDING_ATTRIBUTE]) or ""
    if sha not in payloads:
        return _skipped(
            f"demo-agent trace, but its recording payload sha256:{sha} is not available here "
            "(export it with payloads to replay it)"
        )
    recording = _recording(payloads[sha])
    if recording is None:
        return RerunResult(Check(_NAME, False, f"the recording payload sha256:{sha} is not a demo-agent recording"))
    if current_client() is not None:
        return _skipped("the TraceFoundry SDK is configured in this process: a re-run would export its spans")
    recorded_structure = demo_structure(
        {
            "span_id": s.span_id,
            "parent_span_id": s.parent_span_id,
            "name": s.name,
            "status_code": s.status_code,
            "start_unix_nano": s.start_unix_nano,
        }
        for s in spans
    )
    scenario = recording.get("run_scenario") or recording["scenario"]
    differences = _replay(recording, recorded_structure, recording_span.start_unix_nano, scenario)
    if differences and scenario != "mix":
        # A `mix` run records the scenario its seed chose; replaying `mix` itself may be the faithful re-run.
        mix_differences = _replay(recording, recorded_structure, recording_span.start_unix_nano, "mix")
        if not mix_differences:
            differences = []
    calls = len(recording["tool_calls"])
    summary = (
        f"re-ran {recording.get('agent', 'the demo agent')} (scenario {recording['scenario']}, seed "
        f"{recording['seed']}) with {calls} recorded tool output(s): "
        + ("same structure and names as recorded" if not differences else f"{len(differences)} difference(s)")
    )
    return RerunResult(Check(_NAME, not differences, summary, tuple(differences)), tuple(differences))


def _replay(recording: dict[str, Any], recorded_structure: list[str], start_ns: int, scenario: str) -> list[str]:
    try:
        replay = run_agent(
            scenario, str(recording["seed"]), tools=RecordedTools.from_recording(recording), start_ns=start_ns
        )
    except ReplayDivergence as exc:
        return [f"the re-run diverged from the recording: {exc}"]
    except Exception as exc:  # the agent ran on an untrusted recording: report, never crash
        return [f"the re-run failed on this recording: {type(exc).__name__}: {exc}"]
    return _structure_differences(recorded_structure, replay.structure())


def _recording(content: bytes) -> dict[str, Any] | None:
    try:
        document = json_limits.loads(content)
    except (UnicodeDecodeError, ValueError):  # not JSON, or nested too deeply
        return None
    if (
        not isinstance(document, dict)
        or document.get("format") != RECORDING_FORMAT
        or not isinstance(document.get("tool_calls"), list)
        or not isinstance(document.get("scenario"), str)
        or "seed" not in document
    ):
        return None
    return document


def _structure_differences(recorded: list[str], replayed: list[str]) -> list[str]:
    differences = []
    matcher = difflib.SequenceMatcher(a=recorded, b=replayed, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            differences += [
                f"recorded span #{i + 1} {recorded[i].strip()!r} (depth {_depth(recorded[i])}) is not in the re-run"
                for i in range(i1, i2)
            ]
        if tag in ("replace", "insert"):
            differences += [
                f"re-run span #{j + 1} {replayed[j].strip()!r} (depth {_depth(replayed[j])}) was not recorded"
                for j in range(j1, j2)
            ]
    return differences


def _depth(line: str) -> int:
    return (len(line) - len(line.lstrip(" "))) // 2


def _skipped(reason: str) -> RerunResult:
    return RerunResult(Check(_NAME, True, reason, skipped=True))

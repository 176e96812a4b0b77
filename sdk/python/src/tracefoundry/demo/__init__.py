"""The demo agent: seeded, deterministic agent runs traced with the SDK, their recordings and replay.

from tracefoundry.demo import run_agent, RecordedTools
recording = run_agent("retry_storm", seed=7)                     # tools computed live
replay = run_agent("retry_storm", seed=7, tools=RecordedTools.from_recording(recording))
assert replay.structure() == recording.structure()
"""

from tracefoundry.demo.agent import (
    AGENT_NAME,
    ALL_SCENARIOS,
    RECORDING_FORMAT,
    SCENARIOS,
    PlannerError,
    Recording,
    ToolTimeout,
    run_agent,
    structure_from_spans,
)
from tracefoundry.demo.load import LoadSummary, send_demo_traces
from tracefoundry.demo.tools import LiveTools, RecordedTools, ReplayDivergence, ToolError

__all__ = [
    "AGENT_NAME",
    "ALL_SCENARIOS",
    "RECORDING_FORMAT",
    "SCENARIOS",
    "LiveTools",
    "LoadSummary",
    "PlannerError",
    "RecordedTools",
    "Recording",
    "ReplayDivergence",
    "ToolError",
    "ToolTimeout",
    "run_agent",
    "send_demo_traces",
    "structure_from_spans",
]

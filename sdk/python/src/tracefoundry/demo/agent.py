"""A seeded research-assistant agent traced with the SDK, for demo data and dry replay.

`run_agent(scenario, seed, tools=LiveTools())` runs one agent turn: a simulated planner model (no real LLM
is called) chooses tool calls (search, calculator, database lookup), the tools answer, and a writer model
answers the user. Everything follows from `random.Random(seed)`: question, plan, token counts, outputs,
latencies, failures, and (through `seeded_ids`) the trace and span ids. Only the timestamps move: they are
laid out on a simulated clock from `start_ns` (default: two minutes ago), so a run takes milliseconds while
its spans show realistic durations.

Scenarios: `happy`, `slow_tool` (one tool takes 8-25 s), `retry_storm` (rate-limited model calls and a
flaky search, retried with backoff), `llm_error` (the writer model fails after retries), `timeout` (the
database lookup times out after 30 s) and `mix` (one of them, chosen by the seed).

The run returns a `Recording`: the tool calls with their outputs (enough to replay the run with
`RecordedTools`), the span structure, token and cost totals, and the planted secrets. The replay part is
also captured as the root span's `recording` payload, so a trace exported with payloads carries what dry
replay needs.
"""

import random
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from tracefoundry.demo.prompts import SYSTEM_PROMPT, Question, fake_bearer_token, pick_question
from tracefoundry.demo.tools import LiveTools, ToolError, Tools
from tracefoundry.ids import seeded_ids
from tracefoundry.spans import Instrument, SpanScope, llm_call, tool_call, trace_agent_run

S = TypeVar("S", bound=SpanScope)

RECORDING_FORMAT = "tracefoundry-demo-recording/1"
AGENT_NAME = "research-assistant"
SCENARIOS = ("happy", "slow_tool", "retry_storm", "llm_error", "timeout")
ALL_SCENARIOS = (*SCENARIOS, "mix")
PLANNER = ("gpt-4o-mini", "openai", "gpt-4o-mini-2024-07-18")
WRITER = ("claude-3-5-haiku", "anthropic", "claude-3-5-haiku-20241022")
# USD per million tokens (input, output), as in the server's deploy/model-prices.yaml.
PRICES = {"gpt-4o-mini": (0.15, 0.60), "claude-3-5-haiku": (0.80, 4.00)}
TOOL_TIMEOUT_S = 30.0
_BASE_LATENCY_MS = {"search": (180, 900), "calculator": (2, 12), "database_lookup": (15, 140)}


class PlannerError(Exception):
    """The simulated model provider failed for good."""


class ToolTimeout(TimeoutError):
    """A tool did not answer within TOOL_TIMEOUT_S."""


@dataclass
class Recording:
    """What one run did, in a JSON-friendly shape (`to_json` / `from_json`)."""

    scenario: str
    seed: str
    # The scenario run_agent was asked for: `mix` draws `scenario` from the seed, so a replay must ask for `mix`.
    run_scenario: str = ""
    agent: str = AGENT_NAME
    format: str = RECORDING_FORMAT
    trace_id: str = ""
    outcome: str = "ok"
    error: str = ""
    question_id: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    llm_calls: list[dict[str, Any]] = field(default_factory=list)
    spans: list[dict[str, Any]] = field(default_factory=list)
    planted_secrets: list[str] = field(default_factory=list)
    planted_personal: list[str] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    duration_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Recording":
        known = cls.__dataclass_fields__.keys()
        return cls(**{key: value for key, value in data.items() if key in known})

    def replay_payload(self) -> dict[str, Any]:
        """The part dry replay needs: which run it was and what the tools answered."""
        return {
            "format": self.format,
            "agent": self.agent,
            "scenario": self.scenario,
            "run_scenario": self.run_scenario or self.scenario,
            "seed": self.seed,
            "tool_calls": self.tool_calls,
        }

    def structure(self) -> list[str]:
        """One line per span in tree order: indentation by depth, name, and [ok] or [error]."""
        depths: list[int] = []
        lines = []
        for span in self.spans:
            depth = 0 if span["parent"] < 0 else depths[span["parent"]] + 1
            depths.append(depth)
            lines.append(f"{'  ' * depth}{span['name']} [{span['status']}]")
        return lines


def structure_from_spans(spans: Iterable[Mapping[str, Any]]) -> list[str]:
    """`Recording.structure()` for stored spans (keys `span_id`, `parent_span_id`, `name`, `status_code`,
    `start_unix_nano`), so a replay can be compared with the trace a server holds."""
    items = list(spans)
    ids = {item["span_id"] for item in items}
    children: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        parent = item.get("parent_span_id") or ""
        children.setdefault(parent if parent in ids else "", []).append(item)
    lines: list[str] = []

    def walk(parent: str, depth: int) -> None:
        for item in sorted(children.get(parent, []), key=lambda span: int(span.get("start_unix_nano", 0))):
            status = "error" if str(item.get("status_code", "")).lower() in ("error", "2") else "ok"
            lines.append(f"{'  ' * depth}{item['name']} [{status}]")
            walk(item["span_id"], depth + 1)

    walk("", 0)
    return lines


def run_agent(
    scenario: str = "happy", seed: int | str = 0, tools: Tools | None = None, *, start_ns: int | None = None
) -> Recording:
    """Run the agent once and return its recording. Spans go to the configured SDK (see `configure`)."""
    if scenario not in ALL_SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(ALL_SCENARIOS)}")
    rng = random.Random(f"tracefoundry-demo:{seed}")  # noqa: S311  # simulation, not security
    run_scenario = scenario
    if scenario == "mix":
        scenario = rng.choices(SCENARIOS, weights=(50, 15, 15, 10, 10))[0]
    run = _Run(scenario, str(seed), rng, tools or LiveTools(), start_ns or time.time_ns() - 120 * 10**9)
    run.recording.run_scenario = run_scenario
    with seeded_ids(f"{scenario}:{seed}"):
        return run.execute()


class _Clock:
    def __init__(self, start_ns: int) -> None:
        self.now = start_ns

    def advance_ms(self, milliseconds: float) -> int:
        self.now += int(milliseconds * 1_000_000)
        return self.now


class _Run:
    def __init__(self, scenario: str, seed: str, rng: random.Random, tools: Tools, start_ns: int) -> None:
        self.rng = rng
        self.tools = tools
        self.clock = _Clock(start_ns)
        self.start_ns = start_ns
        self.recording = Recording(scenario=scenario, seed=seed)
        self._stack: list[int] = []

    @property
    def scenario(self) -> str:
        return self.recording.scenario

    def execute(self) -> Recording:
        rng, recording = self.rng, self.recording
        question = pick_question(rng, needs_database=self.scenario == "timeout")
        recording.question_id = question.template_id
        recording.planted_secrets = list(question.planted_secrets)
        recording.planted_personal = list(question.planted_personal)
        agent = trace_agent_run(
            AGENT_NAME,
            run_id=f"run-{rng.getrandbits(64):016x}",
            conversation_id=f"conv-{rng.getrandbits(48):012x}",
            input=question.text,
            start_time=self.clock.now,
            attributes={
                "tracefoundry.demo.scenario": self.scenario,
                "tracefoundry.demo.seed": recording.seed,
            },
        )
        with self._span(f"invoke_agent {AGENT_NAME}", agent) as run:
            recording.trace_id = run.trace_id
            self.clock.advance_ms(rng.uniform(3, 30))
            try:
                answer = self._work(question)
            except PlannerError as error:
                recording.outcome, recording.error = "error", f"PlannerError: {error}"
                run.record_error(error, timestamp=self.clock.now)
            else:
                run.record_output(answer)
            self.clock.advance_ms(rng.uniform(1, 8))
            run.capture("recording", recording.replay_payload())
            run.end_time = self.clock.now
        recording.duration_ms = (self.clock.now - self.start_ns) / 1_000_000
        return recording

    def _work(self, question: Question) -> str:
        rng = self.rng
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": question.text},
        ]
        outputs: list[Any] = []
        slow_step = rng.randrange(len(question.steps))
        timeout_step = (
            next(i for i, (name, _) in enumerate(question.steps) if name == "database_lookup")
            if self.scenario == "timeout"
            else -1
        )
        for index, (tool_name, arguments_of) in enumerate(question.steps):
            arguments = arguments_of(outputs)
            call_id = f"call_{rng.getrandbits(48):012x}"
            plan = {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"id": call_id, "name": tool_name, "arguments": arguments}],
            }
            self._model_call(PLANNER, messages, plan, "tool_calls", first=index == 0)
            messages.append(plan)
            try:
                output = self._tool_call(
                    tool_name,
                    call_id,
                    arguments,
                    slow=self.scenario == "slow_tool" and index == slow_step,
                    timeout=index == timeout_step,
                )
            except (ToolTimeout, ToolError) as error:
                messages.append({"role": "tool", "tool_call_id": call_id, "content": f"error: {error}"})
                break
            outputs.append(output)
            messages.append({"role": "tool", "tool_call_id": call_id, "content": output})
        answer = self._answer(question, outputs)
        self._model_call(WRITER, messages, answer, "stop", first=False, final=True)
        return answer

    def _answer(self, question: Question, outputs: list[Any]) -> str:
        if len(outputs) < len(question.steps):
            return "I could not finish: a tool did not answer in time. Please try again later."
        facts = "; ".join(_fact(output) for output in outputs)
        return f"Here is what I found for {question.template_id.replace('_', ' ')}: {facts}."

    def _model_call(
        self,
        model: tuple[str, str, str],
        messages: list[dict[str, Any]],
        output: Any,
        finish: str,
        *,
        first: bool,
        final: bool = False,
    ) -> None:
        rng, clock = self.rng, self.clock
        name, provider, response_model = model
        retries = self._model_retries(first, final)
        fails = final and self.scenario == "llm_error"
        record: dict[str, Any] = {"model": name, "retries": len(retries), "error": ""}
        self.recording.llm_calls.append(record)
        instrument = llm_call(
            name,
            provider=provider,
            messages=list(messages),
            temperature=0.2,
            max_tokens=1024,
            start_time=clock.now,
        )
        with self._span(f"chat {name}", instrument) as call:
            for attempt, (reason, delay_s) in enumerate(retries, start=2):
                clock.advance_ms(rng.uniform(80, 600))
                call.record_retry(attempt, delay_s, reason, timestamp=clock.now)
                clock.advance_ms(delay_s * 1000)
            if fails:
                clock.advance_ms(rng.uniform(200, 900))
                call.end_time = clock.now
                token = fake_bearer_token(rng)
                self.recording.planted_secrets.append(token)
                record["error"] = "PlannerError"
                raise PlannerError(
                    f"HTTP 500 from {provider}: upstream model overloaded (request sent with Authorization: "
                    f"Bearer {token})"
                )
            input_tokens = sum(len(str(message.get("content", ""))) for message in messages) // 4 + 12 * len(messages)
            output_tokens = rng.randint(40, 90) if finish == "tool_calls" else rng.randint(60, 260)
            clock.advance_ms(rng.uniform(180, 420) + output_tokens * rng.uniform(6, 18))
            price_in, price_out = PRICES[name]
            cost = (input_tokens * price_in + output_tokens * price_out) / 1_000_000
            call.set_response(
                output,
                model=response_model,
                response_id=f"resp_{rng.getrandbits(40):010x}",
                finish_reason=finish,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cost_usd=cost,
            )
            call.end_time = clock.now
        record.update(input_tokens=input_tokens, output_tokens=output_tokens)
        self.recording.input_tokens += input_tokens
        self.recording.output_tokens += output_tokens
        self.recording.cost_usd += cost

    def _model_retries(self, first: bool, final: bool) -> list[tuple[str, float]]:
        rng = self.rng
        if self.scenario == "retry_storm":
            count = rng.randint(3, 6) if first else rng.randint(0, 2)
            return [("HTTP 429: rate limit exceeded", round(0.5 * 2**n + rng.uniform(0, 0.3), 3)) for n in range(count)]
        if self.scenario == "llm_error" and final:
            return [("HTTP 500: upstream model overloaded", round(1.0 * 2**n, 3)) for n in range(2)]
        return []

    def _tool_call(self, name: str, call_id: str, arguments: dict[str, Any], *, slow: bool, timeout: bool) -> Any:
        rng, clock = self.rng, self.clock
        index = len(self.recording.tool_calls)
        record: dict[str, Any] = {
            "call_id": call_id,
            "tool": name,
            "arguments": arguments,
            "output": None,
            "error": "",
            "duration_ms": 0.0,
        }
        self.recording.tool_calls.append(record)
        start = clock.now
        low, high = _BASE_LATENCY_MS[name]
        latency_ms = rng.uniform(8000, 25000) if slow else rng.uniform(low, high)
        flaky = self.scenario == "retry_storm" and name == "search"
        instrument = tool_call(name, call_id=call_id, arguments=arguments, start_time=start)
        try:
            with self._span(f"execute_tool {name}", instrument) as call:
                for attempt in range(2, 4) if flaky else ():
                    clock.advance_ms(rng.uniform(100, 400))
                    call.record_retry(
                        attempt, 0.25 * attempt, "HTTP 503: search backend unavailable", timestamp=clock.now
                    )
                    clock.advance_ms(250 * attempt)
                if timeout:
                    clock.advance_ms(TOOL_TIMEOUT_S * 1000)
                    call.record_timeout(
                        TOOL_TIMEOUT_S,
                        f"{name} gave no answer within {TOOL_TIMEOUT_S:.0f} s",
                        timestamp=clock.now,
                    )
                    call.end_time = clock.now
                    raise ToolTimeout(f"{name} timed out after {TOOL_TIMEOUT_S:.0f} s")
                try:
                    output = self.tools.call(index, name, arguments)
                finally:
                    clock.advance_ms(latency_ms)
                    call.end_time = clock.now
                call.set_result(output)
        except (ToolTimeout, ToolError) as error:
            record["error"] = f"{type(error).__name__}: {error}"
            record["duration_ms"] = (clock.now - start) / 1_000_000
            raise
        record["output"] = output
        record["duration_ms"] = (clock.now - start) / 1_000_000
        return output

    @contextmanager
    def _span(self, name: str, instrument: Instrument[S]) -> Iterator[S]:
        """Open a span through the SDK and note it in the recording's structure."""
        spans = self.recording.spans
        index = len(spans)
        spans.append({"name": name, "parent": self._stack[-1] if self._stack else -1, "status": "ok"})
        self._stack.append(index)
        scope: S | None = None
        try:
            with instrument as scope:
                yield scope
        finally:
            self._stack.pop()
            spans[index]["status"] = "error" if scope is not None and scope.failed else "ok"


def _fact(output: Any) -> str:
    if isinstance(output, list):
        return f"{len(output)} sources, led by {output[0]['title']!r}" if output else "no sources"
    if isinstance(output, dict) and "value" in output:
        return f"{output['expression']} = {output['value']}"
    if isinstance(output, dict) and "row" in output:
        return ", ".join(f"{key} {value}" for key, value in output["row"].items())
    return str(output)

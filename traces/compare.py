"""Compare two runs of an agent by their steps, not their span ids. Pure: steps in, a `Comparison` out.

A step is an LLM call, a tool call, a sub-agent (an agent span other than the root), a retrieval or an
embedding, in start order. Steps are aligned by a longest common subsequence of their keys (category, tool or
model, name), so an inserted, removed or changed step shifts nothing after it. A matched pair carries the
deltas of run B against run A; the first divergence is the first row that is not a match with the same
status. The LCS is computed bit-parallel (Allison-Dix / Hyyrö: one big-integer row per step of run A), so two
10,000-step runs align in well under a second; at most `MAX_STEPS` steps of each run are compared.

Known limit: a step whose model or tool changed is "only in A" plus "only in B", not one changed step; the
divergence names that pair `replaced`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

STEP_CATEGORIES = frozenset({"llm", "tool", "agent", "retriever", "embedding"})
MAX_STEPS = 10_000

StepKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Step:
    span_id: str
    category: str
    target: str  # the tool name, else the model
    name: str
    start_ns: int  # unix nanoseconds
    duration_ns: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: Decimal
    status: str  # "ok", "error" or "unset"
    retry_count: int
    is_timeout: bool

    @property
    def key(self) -> StepKey:
        return (self.category, self.target, self.name)


@dataclass(frozen=True, slots=True)
class StepDelta:
    duration_ns: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: Decimal
    retries: int
    timeouts: int
    status_changed: bool


@dataclass(frozen=True, slots=True)
class Row:
    kind: str  # "matched", "only_a" or "only_b"
    a: Step | None
    b: Step | None
    delta: StepDelta | None


@dataclass(frozen=True, slots=True)
class Divergence:
    row: int
    reason: str  # "only_in_a", "only_in_b", "replaced" or "status_changed"


@dataclass(frozen=True, slots=True)
class RunTotals:
    steps: int
    llm_calls: int
    tool_calls: int
    errors: int
    retries: int
    timeouts: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: Decimal
    step_ns: int  # the steps' durations summed (parallel steps count each)


@dataclass(frozen=True)
class Comparison:
    rows: list[Row]
    divergence: Divergence | None
    matched: int
    only_a: int
    only_b: int
    totals_a: RunTotals
    totals_b: RunTotals
    truncated: bool


def is_step(category: str, span_id: str, root_span_id: str) -> bool:
    return category in STEP_CATEGORIES and span_id != root_span_id


def compare(steps_a: Sequence[Step], steps_b: Sequence[Step]) -> Comparison:
    truncated = len(steps_a) > MAX_STEPS or len(steps_b) > MAX_STEPS
    a, b = list(steps_a[:MAX_STEPS]), list(steps_b[:MAX_STEPS])
    rows: list[Row] = []
    for i, j in align([step.key for step in a], [step.key for step in b]):
        if i is not None and j is not None:
            rows.append(Row("matched", a[i], b[j], _delta(a[i], b[j])))
        elif i is not None:
            rows.append(Row("only_a", a[i], None, None))
        elif j is not None:
            rows.append(Row("only_b", None, b[j], None))
    return Comparison(
        rows=rows,
        divergence=first_divergence(rows),
        matched=sum(row.kind == "matched" for row in rows),
        only_a=sum(row.kind == "only_a" for row in rows),
        only_b=sum(row.kind == "only_b" for row in rows),
        totals_a=totals(a),
        totals_b=totals(b),
        truncated=truncated,
    )


def align(a: Sequence[StepKey], b: Sequence[StepKey]) -> list[tuple[int | None, int | None]]:
    """An LCS alignment of two key sequences, in order; within a gap, A's unmatched items come first."""
    n, m = len(a), len(b)
    masks: dict[StepKey, int] = {}
    for j, key in enumerate(b):
        masks[key] = masks.get(key, 0) | (1 << j)
    full = (1 << m) - 1
    # rows[i] has a 0 bit at j where LCS(a[:i], b[:j+1]) > LCS(a[:i], b[:j]), so LCS(a[:i], b[:j]) is the
    # number of 0 bits below bit j.
    rows = [full]
    for key in a:
        row = rows[-1]
        matches = row & masks.get(key, 0)
        rows.append(((row + matches) | (row - matches)) & full)

    def lcs(i: int, j: int) -> int:
        return j - (rows[i] & ((1 << j) - 1)).bit_count()

    pairs: list[tuple[int | None, int | None]] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and a[i - 1] == b[j - 1] and lcs(i, j) == lcs(i - 1, j - 1) + 1:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif j > 0 and (i == 0 or lcs(i, j - 1) >= lcs(i - 1, j)):
            pairs.append((None, j - 1))
            j -= 1
        else:
            pairs.append((i - 1, None))
            i -= 1
    pairs.reverse()
    return pairs


def first_divergence(rows: Sequence[Row]) -> Divergence | None:
    for index, row in enumerate(rows):
        if row.kind == "matched":
            if row.delta is not None and row.delta.status_changed:
                return Divergence(index, "status_changed")
            continue
        following = rows[index + 1] if index + 1 < len(rows) else None
        if (
            row.kind == "only_a"
            and following is not None
            and following.kind == "only_b"
            and row.a is not None
            and following.b is not None
            and row.a.category == following.b.category
        ):
            return Divergence(index, "replaced")
        return Divergence(index, "only_in_a" if row.kind == "only_a" else "only_in_b")
    return None


def totals(steps: Sequence[Step]) -> RunTotals:
    return RunTotals(
        steps=len(steps),
        llm_calls=sum(step.category == "llm" for step in steps),
        tool_calls=sum(step.category == "tool" for step in steps),
        errors=sum(step.status == "error" for step in steps),
        retries=sum(step.retry_count for step in steps),
        timeouts=sum(step.is_timeout for step in steps),
        input_tokens=sum(step.input_tokens for step in steps),
        output_tokens=sum(step.output_tokens for step in steps),
        total_tokens=sum(step.total_tokens for step in steps),
        cost_usd=sum((step.cost_usd for step in steps), Decimal(0)),
        step_ns=sum(step.duration_ns for step in steps),
    )


def _delta(a: Step, b: Step) -> StepDelta:
    return StepDelta(
        duration_ns=b.duration_ns - a.duration_ns,
        input_tokens=b.input_tokens - a.input_tokens,
        output_tokens=b.output_tokens - a.output_tokens,
        total_tokens=b.total_tokens - a.total_tokens,
        cost_usd=b.cost_usd - a.cost_usd,
        retries=b.retry_count - a.retry_count,
        timeouts=int(b.is_timeout) - int(a.is_timeout),
        status_changed=a.status != b.status,
    )

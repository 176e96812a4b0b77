"""Reads two traces' agent steps (and, for roles that may read them, their payloads) and compares them.

`traces.compare` aligns the steps; `traces.payload_diff` diffs the payloads of matched steps. Payloads are
read only when the caller says the role may read them, for at most `MAX_DIFFED_STEPS` matched steps and
payloads up to `MAX_DIFFED_BYTES` each, in one query for the refs and one for the blobs.
"""

from dataclasses import dataclass, field

from payloads.queries import payload_texts, refs_for_spans
from payloads.refs import parse_ref
from traces.compare import Comparison, Step, compare, is_step
from traces.models import Span, StatusCode, Trace
from traces.payload_diff import PayloadDiff, diff_payloads
from traces.queries import get_trace

MAX_DIFFED_STEPS = 200
MAX_DIFFED_BYTES = 256 * 1024

_STATUS: dict[int, str] = {StatusCode.UNSET: "unset", StatusCode.OK: "ok", StatusCode.ERROR: "error"}


@dataclass(frozen=True)
class RunComparison:
    a: Trace
    b: Trace
    comparison: Comparison
    payload_diffs_included: bool
    # row index -> the payload diffs of that matched row
    payload_diffs: dict[int, list[PayloadDiff]] = field(default_factory=dict)


def compare_runs(trace_id_a: str, trace_id_b: str, *, with_payloads: bool) -> RunComparison:
    """Trace.DoesNotExist when either trace is unknown."""
    trace_a, trace_b = get_trace(trace_id_a), get_trace(trace_id_b)
    steps_a, pks_a = _steps(trace_a)
    steps_b, pks_b = _steps(trace_b)
    comparison = compare(steps_a, steps_b)
    diffs = _payload_diffs(comparison, pks_a, pks_b) if with_payloads else {}
    return RunComparison(trace_a, trace_b, comparison, with_payloads, diffs)


def previous_run_id(trace: Trace) -> str | None:
    """The run of the same agent (service and root span name) that started last before this one."""
    if not trace.root_span_name:
        return None
    return (
        Trace.objects.filter(
            service=trace.service, root_span_name=trace.root_span_name, start_unix_nano__lt=trace.start_unix_nano
        )
        .order_by("-start_unix_nano", "-trace_id")
        .values_list("trace_id", flat=True)
        .first()
    )


def _steps(trace: Trace) -> tuple[list[Step], dict[str, int]]:
    rows = (
        Span.objects.filter(trace_id=trace.trace_id)
        .order_by("start_unix_nano", "span_id")
        .values_list(
            "id",
            "span_id",
            "category",
            "tool_name",
            "model",
            "name",
            "start_unix_nano",
            "duration_ns",
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "cost_usd",
            "status_code",
            "retry_count",
            "is_timeout",
            named=True,
        )
    )
    steps: list[Step] = []
    pks: dict[str, int] = {}
    for row in rows:
        if not is_step(row.category, row.span_id, trace.root_span_id):
            continue
        pks[row.span_id] = row.id
        steps.append(
            Step(
                span_id=row.span_id,
                category=row.category,
                target=row.tool_name or row.model,
                name=row.name,
                start_ns=row.start_unix_nano,
                duration_ns=row.duration_ns,
                input_tokens=row.input_tokens,
                output_tokens=row.output_tokens,
                total_tokens=row.total_tokens,
                cost_usd=row.cost_usd,
                status=_STATUS.get(row.status_code, "unset"),
                retry_count=row.retry_count,
                is_timeout=row.is_timeout,
            )
        )
    return steps, pks


def _payload_diffs(
    comparison: Comparison, pks_a: dict[str, int], pks_b: dict[str, int]
) -> dict[int, list[PayloadDiff]]:
    pairs = [
        (index, pks_a[row.a.span_id], pks_b[row.b.span_id])
        for index, row in enumerate(comparison.rows)
        if row.kind == "matched" and row.a is not None and row.b is not None
    ][:MAX_DIFFED_STEPS]
    refs = refs_for_spans([pk for _, pk_a, pk_b in pairs for pk in (pk_a, pk_b)])
    # The API's refs name content by its public (encrypted) ref; diffs read blobs by their sha256.
    by_role = {pk: {ref["role"]: parse_ref(ref["ref"]) for ref in span_refs} for pk, span_refs in refs.items()}
    wanted = {sha for _, pk_a, pk_b in pairs for pk in (pk_a, pk_b) for sha in by_role.get(pk, {}).values()}
    texts = payload_texts(wanted, MAX_DIFFED_BYTES)
    diffs: dict[int, list[PayloadDiff]] = {}
    for index, pk_a, pk_b in pairs:
        roles_a, roles_b = by_role.get(pk_a, {}), by_role.get(pk_b, {})
        row_diffs = [
            _role_diff(role, roles_a.get(role), roles_b.get(role), texts) for role in sorted(roles_a | roles_b)
        ]
        if row_diffs:
            diffs[index] = row_diffs
    return diffs


def _role_diff(role: str, sha_a: str | None, sha_b: str | None, texts: dict[str, str]) -> PayloadDiff:
    if sha_a == sha_b:
        return PayloadDiff(role, "identical", False, [], [])
    if (sha_a is not None and sha_a not in texts) or (sha_b is not None and sha_b not in texts):
        return PayloadDiff(role, "unavailable", True, [], [])
    return diff_payloads(role, texts.get(sha_a or ""), texts.get(sha_b or ""))

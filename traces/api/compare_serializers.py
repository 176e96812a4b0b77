"""Serializers of `GET /api/traces/compare`: two runs' aligned steps, their deltas and, for roles that may read
payloads, the diffs of their prompts, completions and tool I/O."""

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from traces.api.serializers import TraceSummarySerializer
from traces.compare import Row, RunTotals, Step, StepDelta
from traces.payload_diff import PayloadDiff
from traces.run_comparison import RunComparison
from traces.timefmt import ms_from_ns

_TRACE_ID = r"^[0-9a-fA-F]{32}$"


class CompareParamsSerializer(serializers.Serializer):
    a = serializers.RegexField(_TRACE_ID, help_text="Trace id of run A (32 hex characters)")
    b = serializers.RegexField(_TRACE_ID, help_text="Trace id of run B")


class CompareStepSerializer(serializers.Serializer):
    span_id = serializers.CharField()
    category = serializers.CharField()
    target = serializers.CharField(help_text="The tool name, else the model")
    name = serializers.CharField()
    offset_ms = serializers.FloatField(help_text="From its own trace's start")
    duration_ms = serializers.FloatField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    cost_usd = serializers.DecimalField(max_digits=20, decimal_places=10)
    status_code = serializers.ChoiceField(choices=["unset", "ok", "error"])
    retry_count = serializers.IntegerField()
    is_timeout = serializers.BooleanField()


class StepDeltaSerializer(serializers.Serializer):
    duration_ms = serializers.FloatField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    cost_usd = serializers.DecimalField(max_digits=20, decimal_places=10)
    retries = serializers.IntegerField()
    timeouts = serializers.IntegerField()
    status_changed = serializers.BooleanField()


class MessageDiffSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    role_a = serializers.CharField(allow_null=True)
    role_b = serializers.CharField(allow_null=True)
    changed = serializers.BooleanField()
    lines = serializers.ListField(child=serializers.CharField(allow_blank=True))


class PayloadDiffSerializer(serializers.Serializer):
    role = serializers.CharField()
    kind = serializers.ChoiceField(choices=["messages", "text", "identical", "unavailable"])
    changed = serializers.BooleanField()
    messages = MessageDiffSerializer(many=True)
    lines = serializers.ListField(child=serializers.CharField(allow_blank=True))


class CompareRowSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["matched", "only_a", "only_b"])
    a = CompareStepSerializer(allow_null=True)
    b = CompareStepSerializer(allow_null=True)
    delta = StepDeltaSerializer(allow_null=True)
    payload_diffs = PayloadDiffSerializer(many=True, required=False, help_text="Only for roles that may read payloads")


class DivergenceSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=["only_in_a", "only_in_b", "replaced", "status_changed"])


class RunTotalsSerializer(serializers.Serializer):
    duration_ms = serializers.FloatField(help_text="The trace's duration")
    steps = serializers.IntegerField()
    llm_calls = serializers.IntegerField()
    tool_calls = serializers.IntegerField()
    failed_steps = serializers.IntegerField()
    retries = serializers.IntegerField()
    timeouts = serializers.IntegerField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    cost_usd = serializers.DecimalField(max_digits=20, decimal_places=10)
    step_ms = serializers.FloatField(help_text="The steps' durations summed")


class CompareSummarySerializer(serializers.Serializer):
    matched = serializers.IntegerField()
    only_a = serializers.IntegerField()
    only_b = serializers.IntegerField()
    a = RunTotalsSerializer()
    b = RunTotalsSerializer()
    delta = RunTotalsSerializer(help_text="b minus a")


class CompareSerializer(serializers.Serializer):
    a = TraceSummarySerializer()
    b = TraceSummarySerializer()
    divergence = DivergenceSerializer(allow_null=True)
    summary = CompareSummarySerializer()
    rows = CompareRowSerializer(many=True)
    payload_diffs_included = serializers.BooleanField()
    truncated = serializers.BooleanField(help_text="A run had more steps than were compared")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        result: RunComparison = instance
        comparison = result.comparison
        totals_a = _totals(comparison.totals_a, result.a.duration_ns)
        totals_b = _totals(comparison.totals_b, result.b.duration_ns)
        rows = []
        for index, row in enumerate(comparison.rows):
            item = _row(row, result.a.start_unix_nano, result.b.start_unix_nano)
            if result.payload_diffs_included:
                item["payload_diffs"] = [_payload_diff(diff) for diff in result.payload_diffs.get(index, [])]
            rows.append(item)
        divergence = comparison.divergence
        return {
            "a": TraceSummarySerializer(result.a).data,
            "b": TraceSummarySerializer(result.b).data,
            "divergence": {"row": divergence.row, "reason": divergence.reason} if divergence else None,
            "summary": {
                "matched": comparison.matched,
                "only_a": comparison.only_a,
                "only_b": comparison.only_b,
                "a": totals_a,
                "b": totals_b,
                "delta": {key: _minus(totals_b[key], value) for key, value in totals_a.items()},
            },
            "rows": rows,
            "payload_diffs_included": result.payload_diffs_included,
            "truncated": comparison.truncated,
        }


def _money(value: Decimal) -> str:
    return f"{value:.10f}"


def _minus(b: Any, a: Any) -> Any:
    if isinstance(a, str):
        return _money(Decimal(b) - Decimal(a))
    return round(b - a, 3) if isinstance(a, float) else b - a


def _totals(totals: RunTotals, duration_ns: int) -> dict[str, Any]:
    return {
        "duration_ms": ms_from_ns(duration_ns),
        "steps": totals.steps,
        "llm_calls": totals.llm_calls,
        "tool_calls": totals.tool_calls,
        "failed_steps": totals.errors,
        "retries": totals.retries,
        "timeouts": totals.timeouts,
        "input_tokens": totals.input_tokens,
        "output_tokens": totals.output_tokens,
        "total_tokens": totals.total_tokens,
        "cost_usd": _money(totals.cost_usd),
        "step_ms": ms_from_ns(totals.step_ns),
    }


def _row(row: Row, start_a: int, start_b: int) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "a": _step(row.a, start_a) if row.a else None,
        "b": _step(row.b, start_b) if row.b else None,
        "delta": _delta(row.delta) if row.delta else None,
    }


def _step(step: Step, trace_start: int) -> dict[str, Any]:
    return {
        "span_id": step.span_id,
        "category": step.category,
        "target": step.target,
        "name": step.name,
        "offset_ms": ms_from_ns(step.start_ns - trace_start),
        "duration_ms": ms_from_ns(step.duration_ns),
        "input_tokens": step.input_tokens,
        "output_tokens": step.output_tokens,
        "total_tokens": step.total_tokens,
        "cost_usd": _money(step.cost_usd),
        "status_code": step.status,
        "retry_count": step.retry_count,
        "is_timeout": step.is_timeout,
    }


def _delta(delta: StepDelta) -> dict[str, Any]:
    return {
        "duration_ms": ms_from_ns(delta.duration_ns),
        "input_tokens": delta.input_tokens,
        "output_tokens": delta.output_tokens,
        "total_tokens": delta.total_tokens,
        "cost_usd": _money(delta.cost_usd),
        "retries": delta.retries,
        "timeouts": delta.timeouts,
        "status_changed": delta.status_changed,
    }


def _payload_diff(diff: PayloadDiff) -> dict[str, Any]:
    return {
        "role": diff.role,
        "kind": diff.kind,
        "changed": diff.changed,
        "messages": [
            {"index": m.index, "role_a": m.role_a, "role_b": m.role_b, "changed": m.changed, "lines": m.lines}
            for m in diff.messages
        ],
        "lines": diff.lines,
    }

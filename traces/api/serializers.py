"""Serializers of the traces API: query parameters in, trace summaries and spans out."""

from typing import Any, cast

from rest_framework import serializers

from traces.api.slowness_serializers import CriticalPathSerializer
from traces.models import Span, StatusCode, Trace, TraceStatus
from traces.queries import SORTS, SpanNode, TraceFilters
from traces.semconv import event_mark
from traces.timefmt import iso_from_unix_nano, ms_from_ns

_STATUS_NAMES: dict[int, str] = {StatusCode.UNSET: "unset", StatusCode.OK: "ok", StatusCode.ERROR: "error"}
_MAX_DURATION_MS = (2**63 - 1) // 1_000_000
_MAX_TOKENS = 2**63 - 1


class TraceListParamsSerializer(serializers.Serializer):
    start = serializers.DateTimeField(required=False)
    end = serializers.DateTimeField(required=False)
    service = serializers.CharField(required=False, default="")
    environment = serializers.CharField(required=False, default="")
    status = serializers.ChoiceField(choices=TraceStatus.values, required=False, default="")
    model = serializers.CharField(required=False, default="")
    tool = serializers.CharField(required=False, default="")
    # Bounded by what the columns hold (int64 nanoseconds and token sums), so no filter value overflows a query.
    min_duration_ms = serializers.FloatField(required=False, min_value=0, max_value=_MAX_DURATION_MS)
    max_duration_ms = serializers.FloatField(required=False, min_value=0, max_value=_MAX_DURATION_MS)
    min_tokens = serializers.IntegerField(required=False, min_value=0, max_value=_MAX_TOKENS)
    max_tokens = serializers.IntegerField(required=False, min_value=0, max_value=_MAX_TOKENS)
    min_cost = serializers.DecimalField(required=False, max_digits=20, decimal_places=10, min_value=0)
    max_cost = serializers.DecimalField(required=False, max_digits=20, decimal_places=10, min_value=0)
    q = serializers.CharField(required=False, default="", max_length=200)
    has_errors = serializers.BooleanField(required=False, allow_null=True, default=None)
    has_retries = serializers.BooleanField(required=False, allow_null=True, default=None)
    has_timeouts = serializers.BooleanField(required=False, allow_null=True, default=None)
    min_retries = serializers.IntegerField(required=False, min_value=0)
    session_id = serializers.CharField(required=False, default="", max_length=255)
    user = serializers.CharField(
        required=False, default="", max_length=255, help_text="Traces of this user id (exact; `user_id` in a summary)"
    )
    sort = serializers.ChoiceField(choices=list(SORTS), required=False, default="newest")
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=500)
    cursor = serializers.CharField(required=False, default=None, allow_null=True)

    def filters(self) -> TraceFilters:
        names = set(TraceFilters.__dataclass_fields__)
        return TraceFilters(**{name: value for name, value in self.validated_data.items() if name in names})


class TraceDetailParamsSerializer(serializers.Serializer):
    critical_path = serializers.BooleanField(
        required=False,
        default=True,
        help_text="false leaves `critical_path` null: it reads every span, which a first screen need not wait for",
    )


class SpanListParamsSerializer(serializers.Serializer):
    limit = serializers.IntegerField(
        required=False,
        default=1000,
        min_value=1,
        max_value=10_000,
        help_text="Spans per page, in tree order (parent before child, siblings by start time)",
    )
    cursor = serializers.CharField(
        required=False, default=None, allow_null=True, max_length=200, help_text="`next_cursor` of the previous page"
    )


class TraceSummarySerializer(serializers.ModelSerializer):
    start_time = serializers.SerializerMethodField()
    end_time = serializers.SerializerMethodField()
    start_unix_nano = serializers.CharField()
    end_unix_nano = serializers.CharField()
    duration_ms = serializers.SerializerMethodField()
    models = serializers.ListField(source="models_used", child=serializers.CharField())
    tools = serializers.ListField(source="tools_used", child=serializers.CharField())
    cost_usd = serializers.DecimalField(max_digits=20, decimal_places=10)
    # Declared plainly: model-derived integer fields carry the database's range, which differs between
    # SQLite and Postgres and would make the committed OpenAPI schema depend on the database.
    span_count = serializers.IntegerField()
    error_count = serializers.IntegerField()
    llm_call_count = serializers.IntegerField()
    tool_call_count = serializers.IntegerField()
    retry_count = serializers.IntegerField()
    timeout_count = serializers.IntegerField()
    orphan_count = serializers.IntegerField()

    class Meta:
        model = Trace
        fields = [
            "trace_id",
            "root_span_id",
            "root_span_name",
            "service",
            "environment",
            "status",
            "start_time",
            "end_time",
            "start_unix_nano",
            "end_unix_nano",
            "duration_ms",
            "span_count",
            "error_count",
            "llm_call_count",
            "tool_call_count",
            "retry_count",
            "timeout_count",
            "orphan_count",
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "cost_usd",
            "models",
            "tools",
            "session_id",
            "user_id",
            "source",
            "ingested_at",
        ]

    def get_start_time(self, trace: Trace) -> str:
        return iso_from_unix_nano(trace.start_unix_nano)

    def get_end_time(self, trace: Trace) -> str:
        return iso_from_unix_nano(trace.end_unix_nano)

    def get_duration_ms(self, trace: Trace) -> float:
        return ms_from_ns(trace.duration_ns)


class TraceCountSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Matching traces; a lower bound when `exact` is false.")
    exact = serializers.BooleanField(help_text="False when counting stopped at TRACE_COUNT_LIMIT: more match.")


class TraceListSerializer(serializers.Serializer):
    items = TraceSummarySerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
    total = TraceCountSerializer(allow_null=True, help_text="On the first page only (no cursor); null after.")


class PayloadRefSerializer(serializers.Serializer):
    # The public ref (`ref:<hex>`): no content hash is shown here, so nobody can confirm a guess of the content.
    ref = serializers.CharField()
    role = serializers.CharField()
    attribute = serializers.CharField()
    size_bytes = serializers.IntegerField(allow_null=True)
    content_type = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["stored", "expired", "missing"])


class SpanMarkSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["retry", "timeout", "exception"])
    offset_ms = serializers.FloatField(help_text="From the span's start")
    reason = serializers.CharField(help_text="The retry or timeout reason, or the exception type")


class SpanItemSerializer(serializers.ModelSerializer):
    """A span as listed in a trace's tree, from a SpanNode (span, depth, orphan flag) or a Span.

    The fields are declared for the OpenAPI schema; `to_representation` builds the dict directly, because a
    10,000-span tree through DRF's per-field machinery takes seconds.
    """

    depth = serializers.IntegerField()
    is_orphan = serializers.BooleanField()
    kind = serializers.IntegerField()  # plain, like TraceSummarySerializer's counts
    retry_count = serializers.IntegerField()
    start_time = serializers.CharField()
    start_unix_nano = serializers.CharField()
    end_unix_nano = serializers.CharField()
    offset_ms = serializers.FloatField()
    duration_ms = serializers.FloatField()
    status_code = serializers.ChoiceField(choices=list(_STATUS_NAMES.values()))
    cost_usd = serializers.DecimalField(max_digits=20, decimal_places=10)
    event_count = serializers.IntegerField()
    marks = SpanMarkSerializer(many=True, help_text="Retry, timeout and exception events, to draw on the bar")
    payload_refs = PayloadRefSerializer(many=True)

    class Meta:
        model = Span
        fields = [
            "trace_id",
            "span_id",
            "parent_span_id",
            "depth",
            "is_orphan",
            "name",
            "kind",
            "category",
            "service",
            "start_time",
            "start_unix_nano",
            "end_unix_nano",
            "offset_ms",
            "duration_ms",
            "status_code",
            "status_message",
            "operation_name",
            "model",
            "provider",
            "tool_name",
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "cost_usd",
            "retry_count",
            "is_timeout",
            "event_count",
            "marks",
            "payload_refs",
        ]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        node = instance if isinstance(instance, SpanNode) else SpanNode(instance, 0, False)
        span = node.span
        trace_start = self.context.get("trace_start_unix_nano", span.start_unix_nano)
        return {
            "trace_id": span.trace_id,
            "span_id": span.span_id,
            "parent_span_id": span.parent_span_id,
            "depth": node.depth,
            "is_orphan": node.is_orphan,
            "name": span.name,
            "kind": span.kind,
            "category": span.category,
            "service": span.service,
            "start_time": iso_from_unix_nano(span.start_unix_nano),
            "start_unix_nano": str(span.start_unix_nano),
            "end_unix_nano": str(span.end_unix_nano),
            "offset_ms": ms_from_ns(span.start_unix_nano - trace_start),
            "duration_ms": ms_from_ns(span.duration_ns),
            "status_code": _STATUS_NAMES.get(span.status_code, "unset"),
            "status_message": span.status_message,
            "operation_name": span.operation_name,
            "model": span.model,
            "provider": span.provider,
            "tool_name": span.tool_name,
            "input_tokens": span.input_tokens,
            "output_tokens": span.output_tokens,
            "total_tokens": span.total_tokens,
            "cost_usd": f"{span.cost_usd:.10f}",
            "retry_count": span.retry_count,
            "is_timeout": span.is_timeout,
            "event_count": len(span.events),
            "marks": _marks(span.events, span.start_unix_nano),
            # From the view's one bulk query, keyed by span pk.
            "payload_refs": list(self.context.get("payload_refs", {}).get(span.pk, [])),
        }


class SpanEventSerializer(serializers.Serializer):
    name = serializers.CharField()
    time_unix_nano = serializers.CharField()
    time = serializers.CharField()
    attributes = serializers.DictField()


class SpanDetailSerializer(SpanItemSerializer):
    events = SpanEventSerializer(many=True)

    class Meta(SpanItemSerializer.Meta):
        fields = [
            *SpanItemSerializer.Meta.fields,
            "attributes",
            "resource_attributes",
            "events",
            "links",
            "scope",
            "trace_state",
        ]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        span = cast(Span, instance)  # the detail view serialises one stored Span
        return {
            **super().to_representation(instance),
            "attributes": span.attributes,
            "resource_attributes": span.resource_attributes,
            "events": [_event_item(event) for event in span.events],
            "links": span.links,
            "scope": span.scope,
            "trace_state": span.trace_state,
        }


_MARK_LABELS = {
    "retry": "tracefoundry.retry.reason",
    "timeout": "tracefoundry.timeout.reason",
    "exception": "exception.type",
}
_MARK_LABEL_MAX = 120


def _marks(events: list[dict[str, Any]], span_start: int) -> list[dict[str, Any]]:
    marks = []
    for event in events:
        kind = event_mark(event)
        if kind:
            label = str(event.get("attributes", {}).get(_MARK_LABELS[kind]) or event.get("name", kind))
            offset = ms_from_ns(int(event.get("time_unix_nano", span_start)) - span_start)
            marks.append({"kind": kind, "offset_ms": offset, "reason": label[:_MARK_LABEL_MAX]})
    return marks


def _event_item(event: dict[str, Any]) -> dict[str, Any]:
    nanos = int(event["time_unix_nano"])
    return {**event, "time_unix_nano": str(nanos), "time": iso_from_unix_nano(nanos)}


class ServiceBreakdownSerializer(serializers.Serializer):
    service = serializers.CharField()
    span_count = serializers.IntegerField()
    error_count = serializers.IntegerField()


class ModelBreakdownSerializer(serializers.Serializer):
    model = serializers.CharField()
    provider = serializers.CharField()
    call_count = serializers.IntegerField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    cost_usd = serializers.DecimalField(max_digits=20, decimal_places=10)


class TraceDetailSerializer(serializers.Serializer):
    trace = TraceSummarySerializer()
    root_span = SpanItemSerializer(allow_null=True)
    services = ServiceBreakdownSerializer(many=True)
    models = ModelBreakdownSerializer(many=True)
    critical_path = CriticalPathSerializer(allow_null=True)
    previous_run_id = serializers.CharField(
        allow_null=True, help_text="The previous trace of the same service and root span name, to compare with"
    )


class SpanListSerializer(serializers.Serializer):
    items = SpanItemSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class FacetsSerializer(serializers.Serializer):
    services = serializers.ListField(child=serializers.CharField())
    environments = serializers.ListField(child=serializers.CharField())
    models = serializers.ListField(child=serializers.CharField())
    tools = serializers.ListField(child=serializers.CharField())

"""`GET /api/sessions` and `GET /api/sessions/{id}`: traces grouped by conversation (see `traces.sessions`)."""

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from traces import queries, sessions
from traces.api.serializers import PayloadRefSerializer, TraceListParamsSerializer, TraceSummarySerializer
from traces.api.views import bad_parameter
from traces.models import Trace
from traces.timefmt import iso_from_unix_nano, ms_from_ns


class SessionListParamsSerializer(TraceListParamsSerializer):
    sort = serializers.ChoiceField(choices=list(sessions.SESSION_SORTS), required=False, default="newest")
    min_turns = serializers.IntegerField(required=False, min_value=1)


class SessionSummarySerializer(serializers.Serializer):
    session_id = serializers.CharField()
    turns = serializers.IntegerField()
    start_time = serializers.CharField()
    last_start_time = serializers.CharField()
    end_time = serializers.CharField()
    duration_ms = serializers.FloatField()
    span_count = serializers.IntegerField()
    error_count = serializers.IntegerField(help_text="Errored spans over all turns")
    error_turns = serializers.IntegerField(help_text="Turns (traces) with at least one error")
    retry_count = serializers.IntegerField()
    timeout_count = serializers.IntegerField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    cost_usd = serializers.DecimalField(max_digits=20, decimal_places=10)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        row = dict(instance)
        return super().to_representation(
            {
                **row,
                "start_time": iso_from_unix_nano(row["first_start_unix_nano"]),
                "last_start_time": iso_from_unix_nano(row["last_start_unix_nano"]),
                "end_time": iso_from_unix_nano(row["last_end_unix_nano"]),
                "duration_ms": ms_from_ns(row["duration_ns"]),
            }
        )


class SessionListSerializer(serializers.Serializer):
    items = SessionSummarySerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class SessionTurnSerializer(TraceSummarySerializer):
    root_payload_refs = serializers.SerializerMethodField(
        help_text="Payload refs of the turn's root span (its input and output); contents via /api/payloads/{ref}"
    )

    class Meta(TraceSummarySerializer.Meta):
        fields = [*TraceSummarySerializer.Meta.fields, "root_payload_refs"]

    @extend_schema_field(PayloadRefSerializer(many=True))
    def get_root_payload_refs(self, trace: Trace) -> list[dict[str, Any]]:
        return self.context["root_payload_refs"].get(trace.trace_id, [])


class SessionDetailSerializer(serializers.Serializer):
    session = SessionSummarySerializer()
    turns = SessionTurnSerializer(many=True)
    truncated = serializers.BooleanField(help_text=f"True when the session has more than {sessions.MAX_TURNS} turns")


class SessionListView(APIView):
    @extend_schema(
        operation_id="sessions_list", parameters=[SessionListParamsSerializer], responses=SessionListSerializer
    )
    def get(self, request: Request) -> Response:
        params = SessionListParamsSerializer(data=request.query_params)
        if not params.is_valid():
            raise bad_parameter(params.errors)
        try:
            page = sessions.list_sessions(
                params.filters(),
                params.validated_data["sort"],
                params.validated_data["limit"],
                params.validated_data["cursor"],
                params.validated_data.get("min_turns"),
            )
        except queries.InvalidCursor as exc:
            raise ValidationError({"detail": str(exc), "parameter": "cursor"}) from exc
        return Response(SessionListSerializer(page).data)


class SessionDetailView(APIView):
    @extend_schema(responses=SessionDetailSerializer)
    def get(self, request: Request, session_id: str) -> Response:
        try:
            detail = sessions.session_detail(session_id)
        except Trace.DoesNotExist as exc:
            raise NotFound("no such session") from exc
        context = {"root_payload_refs": detail.root_payload_refs}
        return Response(SessionDetailSerializer(detail, context=context).data)

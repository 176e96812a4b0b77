"""`GET /api/metrics`: the dashboards' time series and per-tool and per-model tables (see `traces.metrics`)."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from traces import metrics
from traces.api.serializers import TraceListParamsSerializer
from traces.api.views import bad_parameter


class MetricsParamsSerializer(TraceListParamsSerializer):
    group_by = serializers.ChoiceField(
        choices=[g for g in metrics.GROUPS if g], required=False, default="", allow_blank=True
    )
    bucket_seconds = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=metrics.MAX_BUCKET_SECONDS,
        help_text="Bucket width; chosen for about 60 buckets when left out",
    )


class _Latency(serializers.Serializer):
    p50_ms = serializers.FloatField(allow_null=True)
    p95_ms = serializers.FloatField(allow_null=True)
    p99_ms = serializers.FloatField(allow_null=True)


class MetricsPointSerializer(_Latency):
    bucket_start = serializers.CharField()
    group = serializers.CharField(help_text="Service, model or tool; empty without group_by")
    trace_count = serializers.IntegerField()
    span_count = serializers.IntegerField()
    error_count = serializers.IntegerField(help_text="Errored traces, or errored spans when grouped by model/tool")
    error_rate = serializers.FloatField()
    total_tokens = serializers.IntegerField()
    cost_usd = serializers.DecimalField(max_digits=20, decimal_places=10)


class _CallTable(_Latency):
    call_count = serializers.IntegerField()
    error_count = serializers.IntegerField()
    error_rate = serializers.FloatField()
    retry_count = serializers.IntegerField()
    timeout_count = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    cost_usd = serializers.DecimalField(max_digits=20, decimal_places=10)


class ToolMetricsSerializer(_CallTable):
    tool = serializers.CharField()


class ModelMetricsSerializer(_CallTable):
    model = serializers.CharField()


class MetricsSerializer(serializers.Serializer):
    group_by = serializers.CharField()
    bucket_seconds = serializers.IntegerField()
    buckets = serializers.ListField(child=serializers.CharField(), help_text="Start of every bucket in the range")
    series = MetricsPointSerializer(many=True)
    tools = ToolMetricsSerializer(many=True)
    models = ModelMetricsSerializer(many=True)


class MetricsView(APIView):
    @extend_schema(operation_id="metrics", parameters=[MetricsParamsSerializer], responses=MetricsSerializer)
    def get(self, request: Request) -> Response:
        params = MetricsParamsSerializer(data=request.query_params)
        if not params.is_valid():
            raise bad_parameter(params.errors)
        data: dict[str, Any] = params.validated_data
        try:
            result = metrics.metrics(params.filters(), data["group_by"], data.get("bucket_seconds"))
        except metrics.TooManyBuckets as exc:
            raise ValidationError({"detail": str(exc), "parameter": "bucket_seconds"}) from exc
        return Response(MetricsSerializer(result).data)

"""`GET /api/traces/{trace_id}/search?q=`: the spans of one trace that mention a text anywhere in their metadata."""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from traces.api.span_search_serializers import SpanSearchParamsSerializer, SpanSearchSerializer
from traces.api.views import _trace_id, bad_parameter
from traces.models import Trace
from traces.queries import get_trace
from traces.span_search import matching_span_ids


class TraceSpanSearchView(APIView):
    @extend_schema(parameters=[SpanSearchParamsSerializer], responses=SpanSearchSerializer)
    def get(self, request: Request, trace_id: str) -> Response:
        params = SpanSearchParamsSerializer(data=request.query_params)
        if not params.is_valid():
            raise bad_parameter(params.errors)
        try:
            trace = get_trace(_trace_id(trace_id))
        except Trace.DoesNotExist as exc:
            raise NotFound("no such trace") from exc
        span_ids = matching_span_ids(trace.trace_id, params.validated_data["q"])
        return Response(SpanSearchSerializer({"span_ids": span_ids}).data)

"""`GET /api/traces/compare?a=&b=`: two runs of an agent, step by step (thin: validate, compare, serialize)."""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Capability, can
from traces.api.compare_serializers import CompareParamsSerializer, CompareSerializer
from traces.api.views import bad_parameter
from traces.models import Trace
from traces.run_comparison import compare_runs


class TraceCompareView(APIView):
    @extend_schema(operation_id="traces_compare", parameters=[CompareParamsSerializer], responses=CompareSerializer)
    def get(self, request: Request) -> Response:
        params = CompareParamsSerializer(data=request.query_params)
        if not params.is_valid():
            raise bad_parameter(params.errors)
        try:
            result = compare_runs(
                params.validated_data["a"].lower(),
                params.validated_data["b"].lower(),
                # Viewers get structure and numbers only: no payload is read for them at all.
                with_payloads=can(request.user, Capability.READ_PAYLOAD_CONTENT),
            )
        except Trace.DoesNotExist as exc:
            raise NotFound("no such trace") from exc
        return Response(CompareSerializer(result).data)

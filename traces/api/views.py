"""Thin views of the traces API: validate, call one query, serialize."""

import re
import time

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from payloads.contracts import parse_trace_id
from payloads.queries import refs_for_spans, unlinked_refs
from traces import queries
from traces.api.serializers import (
    FacetsSerializer,
    SpanDetailSerializer,
    SpanListParamsSerializer,
    SpanListSerializer,
    TraceDetailParamsSerializer,
    TraceDetailSerializer,
    TraceListParamsSerializer,
    TraceListSerializer,
)
from traces.models import Span, Trace
from traces.run_comparison import previous_run_id
from traces.span_tree import span_page
from traces.trace_analysis import slowness_report

_SPAN_ID = re.compile(r"^[0-9a-fA-F]{16}$")


def bad_parameter(errors: dict) -> ValidationError:
    parameter, messages = next(iter(errors.items()))
    return ValidationError({"detail": f"{parameter}: {' '.join(str(m) for m in messages)}", "parameter": parameter})


def _trace_id(raw: str) -> str:
    trace_id = parse_trace_id(raw)
    if trace_id is None:
        raise NotFound("no such trace (trace ids are 32 hex characters)")
    return trace_id


class TraceListView(APIView):
    @extend_schema(operation_id="traces_list", parameters=[TraceListParamsSerializer], responses=TraceListSerializer)
    def get(self, request: Request) -> Response:
        params = TraceListParamsSerializer(data=request.query_params)
        if not params.is_valid():
            raise bad_parameter(params.errors)
        try:
            cursor = params.validated_data["cursor"]
            page = queries.list_traces(
                params.filters(),
                params.validated_data["sort"],
                params.validated_data["limit"],
                cursor,
                count_limit=None if cursor else settings.TRACE_COUNT_LIMIT,
            )
        except queries.InvalidCursor as exc:
            raise ValidationError({"detail": str(exc), "parameter": "cursor"}) from exc
        return Response(TraceListSerializer(page).data)


class TraceDetailView(APIView):
    @extend_schema(parameters=[TraceDetailParamsSerializer], responses=TraceDetailSerializer)
    def get(self, request: Request, trace_id: str) -> Response:
        params = TraceDetailParamsSerializer(data=request.query_params)
        if not params.is_valid():
            raise bad_parameter(params.errors)
        try:
            detail = queries.trace_detail(_trace_id(trace_id))
        except Trace.DoesNotExist as exc:
            raise NotFound("no such trace") from exc
        context = {"trace_start_unix_nano": detail.trace.start_unix_nano}
        answer = {
            **vars(detail),
            "critical_path": slowness_report(detail.trace.trace_id) if params.validated_data["critical_path"] else None,
            "previous_run_id": previous_run_id(detail.trace),
        }
        return Response(TraceDetailSerializer(answer, context=context).data)


class TraceSpansView(APIView):
    @extend_schema(parameters=[SpanListParamsSerializer], responses=SpanListSerializer)
    def get(self, request: Request, trace_id: str) -> Response:
        params = SpanListParamsSerializer(data=request.query_params)
        if not params.is_valid():
            raise bad_parameter(params.errors)
        try:
            trace = queries.get_trace(_trace_id(trace_id))
            page = span_page(trace, params.validated_data["limit"], params.validated_data["cursor"])
        except Trace.DoesNotExist as exc:
            raise NotFound("no such trace") from exc
        except queries.InvalidCursor as exc:
            raise ValidationError({"detail": str(exc), "parameter": "cursor"}) from exc
        context = {
            "trace_start_unix_nano": trace.start_unix_nano,
            "payload_refs": refs_for_spans([node.span.pk for node in page.items]),
        }
        return Response(
            SpanListSerializer({"items": page.items, "next_cursor": page.next_cursor}, context=context).data
        )


class SpanDetailView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("trace_id", str, description="Needed when the span id is in several traces")],
        responses=SpanDetailSerializer,
    )
    def get(self, request: Request, span_id: str) -> Response:
        trace_id = request.query_params.get("trace_id") or None
        if not _SPAN_ID.match(span_id):
            raise NotFound("no such span (span ids are 16 hex characters)")
        try:
            span = queries.get_span(span_id.lower(), _trace_id(trace_id) if trace_id else None)
        except Span.DoesNotExist as exc:
            raise NotFound("no such span") from exc
        except queries.AmbiguousSpanId as exc:
            return Response(
                {"detail": "span id is in several traces; add ?trace_id=", "trace_ids": exc.trace_ids},
                status=409,
            )
        trace = queries.get_trace(span.trace_id)
        linked = refs_for_spans([span.pk]).get(span.pk, [])
        age_days = (time.time_ns() - span.start_unix_nano) / 86_400e9
        refs = linked + unlinked_refs(span.attributes, linked, age_days)
        context = {"trace_start_unix_nano": trace.start_unix_nano, "payload_refs": {span.pk: refs}}
        return Response(SpanDetailSerializer(span, context=context).data)


class FacetsView(APIView):
    @extend_schema(responses=FacetsSerializer)
    def get(self, request: Request) -> Response:
        return Response(FacetsSerializer(queries.facets()).data)

"""Thin views of the bundles API: check who may do what, call one use case, answer."""

from typing import IO, cast

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CanDryReplay, CanExportTrace, CanImportBundles
from bundles.api.serializers import (
    BundleUploadSerializer,
    DryReplayRequestSerializer,
    ExportRequestSerializer,
    ImportConflictSerializer,
    ImportRequestSerializer,
    ImportResultSerializer,
    ReplayReportSerializer,
)
from bundles.archive import BundleRefused
from bundles.dry_replay import dry_replay_bundle, dry_replay_stored
from bundles.exports import export_trace
from bundles.imports import ImportConflict, import_bundle
from payloads.contracts import parse_trace_id
from traces.models import Trace

# Room for the multipart envelope around the file itself.
_MULTIPART_OVERHEAD_BYTES = 64 * 1024


def _trace_id(raw: str) -> str:
    trace_id = parse_trace_id(raw)
    if trace_id is None:
        raise NotFound("no such trace (trace ids are 32 hex characters)")
    return trace_id


def _bad_request(detail: str, parameter: str = "") -> ValidationError:
    return ValidationError({"detail": detail, **({"parameter": parameter} if parameter else {})})


def _uploaded_bundle(request: Request) -> UploadedFile:
    # Refused by Content-Length before the body is parsed, so an oversized upload is never spooled to disk.
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared > settings.BUNDLE_MAX_UPLOAD_BYTES + _MULTIPART_OVERHEAD_BYTES:
        raise _bad_request(
            f"upload is {declared} bytes, over the limit of {settings.BUNDLE_MAX_UPLOAD_BYTES} bytes "
            "(BUNDLE_MAX_UPLOAD_BYTES)",
            "bundle",
        )
    upload = BundleUploadSerializer(data=request.data)
    if not upload.is_valid():
        raise _bad_request("send the bundle zip as the multipart file field `bundle`", "bundle")
    bundle: UploadedFile = upload.validated_data["bundle"]
    return bundle


class ExportTraceView(APIView):
    permission_classes = [CanExportTrace]

    @extend_schema(
        request=ExportRequestSerializer,
        responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The bundle zip")},
    )
    def post(self, request: Request, trace_id: str) -> HttpResponse:
        options = ExportRequestSerializer(data=request.data)
        if not options.is_valid():
            parameter, messages = next(iter(options.errors.items()))
            raise _bad_request(f"{parameter}: {' '.join(str(m) for m in messages)}", parameter)
        try:
            bundle = export_trace(
                _trace_id(trace_id),
                include_payloads=options.validated_data["include_payloads"],
                redaction=options.validated_data["redaction"],
            )
        except Trace.DoesNotExist as exc:
            raise NotFound("no such trace") from exc
        response = HttpResponse(bundle.content, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{bundle.filename}"'
        return response


class ImportBundleView(APIView):
    permission_classes = [CanImportBundles]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": ImportRequestSerializer},
        responses={200: ImportResultSerializer, 201: ImportResultSerializer, 409: ImportConflictSerializer},
    )
    def post(self, request: Request) -> Response:
        bundle = _uploaded_bundle(request)
        options = ImportRequestSerializer(data=request.data)
        if not options.is_valid():
            raise _bad_request("as_new_trace must be true or false", "as_new_trace")
        try:
            result = import_bundle(
                cast(IO[bytes], bundle), bundle.size or 0, as_new_trace=options.validated_data["as_new_trace"]
            )
        except BundleRefused as exc:
            raise _bad_request(str(exc)) from exc
        except ImportConflict as exc:
            conflict = {"detail": str(exc), "trace_id": exc.trace_id, "differences": exc.differences}
            return Response(ImportConflictSerializer(conflict).data, status=409)
        return Response(ImportResultSerializer(result).data, status=201 if result.created else 200)


class DryReplayTraceView(APIView):
    permission_classes = [CanDryReplay]

    @extend_schema(request=DryReplayRequestSerializer, responses=ReplayReportSerializer)
    def post(self, request: Request, trace_id: str) -> Response:
        tolerance_ns = _tolerance_ns(request)
        try:
            report = dry_replay_stored(_trace_id(trace_id), tolerance_ns)
        except Trace.DoesNotExist as exc:
            raise NotFound("no such trace") from exc
        return Response(ReplayReportSerializer(report.as_dict()).data)


class DryReplayBundleView(APIView):
    permission_classes = [CanDryReplay]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": BundleUploadSerializer}, responses=ReplayReportSerializer)
    def post(self, request: Request) -> Response:
        bundle = _uploaded_bundle(request)
        tolerance_ns = _tolerance_ns(request)
        try:
            report = dry_replay_bundle(cast(IO[bytes], bundle), bundle.size or 0, tolerance_ns)
        except BundleRefused as exc:
            raise _bad_request(str(exc)) from exc
        return Response(ReplayReportSerializer(report.as_dict()).data)


def _tolerance_ns(request: Request) -> int:
    params = DryReplayRequestSerializer(data=request.data)
    if not params.is_valid():
        raise _bad_request("tolerance_ms must be a number of milliseconds between 0 and 3600000", "tolerance_ms")
    return int(params.validated_data["tolerance_ms"] * 1_000_000)

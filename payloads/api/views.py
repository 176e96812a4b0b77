"""`POST /api/payloads` (SDK upload with an ingest key) and `GET /api/payloads/{ref}` (contents, by role)."""

import logging

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import IngestKeyAuthentication
from accounts.permissions import CanReadPayloadContent, HasIngestKey
from payloads import queries, refs
from payloads.api.serializers import PayloadContentSerializer, StoredPayloadSerializer
from payloads.capture import JSON_CONTENT_TYPE
from payloads.ingest import PayloadRejected, store_payload
from payloads.models import PayloadBlob
from payloads.storage import PayloadUnavailable
from tracefoundry_site import bounded_body

logger = logging.getLogger(__name__)

_ACCEPTED_TYPES = ("application/json", "text/plain")


class PayloadUploadView(APIView):
    authentication_classes = [IngestKeyAuthentication]
    permission_classes = [HasIngestKey]
    # The body is the content itself; it is read raw, never parsed by DRF.
    parser_classes: list = []

    @extend_schema(
        request={"application/json": {}, "text/plain": {}},
        responses={201: StoredPayloadSerializer},
        description="Upload one payload (ingest key as `Authorization: Bearer <key>`); the server redacts it.",
    )
    def post(self, request: Request) -> Response:
        media_type = (request.content_type or "").split(";")[0].strip().lower()
        charset = (request._request.content_params or {}).get("charset", "utf-8").lower()
        if media_type not in _ACCEPTED_TYPES or charset not in ("utf-8", "utf8"):
            return Response(
                {"detail": "Content-Type must be application/json or text/plain; charset=utf-8"},
                status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            )
        try:
            body = bounded_body.read_body(request._request, settings.PAYLOAD_MAX_BYTES)
        except bounded_body.BodyTooLarge:
            return Response(
                {"detail": f"payload is over the limit of {settings.PAYLOAD_MAX_BYTES} bytes"},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        except bounded_body.BadBody as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        try:
            stored = store_payload(body, JSON_CONTENT_TYPE if media_type == "application/json" else media_type)
        except PayloadRejected as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {
                "ref": stored.ref,
                "sha256": stored.sha256,
                "size_bytes": stored.size_bytes,
                "content_type": stored.content_type,
                "redaction_mode": stored.redaction_mode,
                "redacted": stored.redacted,
            },
            status=status.HTTP_201_CREATED,
        )


class PayloadContentView(APIView):
    permission_classes = [CanReadPayloadContent]

    @extend_schema(responses=PayloadContentSerializer)
    def get(self, request: Request, ref: str) -> Response:
        try:
            sha256 = refs.parse_ref(ref)
        except ValueError as exc:
            return Response({"detail": str(exc), "parameter": "ref"}, status=status.HTTP_400_BAD_REQUEST)
        try:
            payload = queries.payload_content(sha256)
        except PayloadBlob.DoesNotExist:
            return Response({"detail": "unknown payload"}, status=status.HTTP_404_NOT_FOUND)
        except PayloadUnavailable as exc:
            logger.error("payload not served: %s", exc)
            return Response({"detail": str(exc)}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
        return Response(
            {
                "ref": payload.ref,
                "sha256": payload.sha256,
                "content_type": payload.content_type,
                "size_bytes": payload.size_bytes,
                "redaction_mode": payload.redaction_mode,
                "content": payload.content,
            }
        )

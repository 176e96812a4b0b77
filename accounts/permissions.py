"""DRF permission classes: the only way an `/api/` view decides who may call it.

Each class asks `accounts.roles` one question; none looks at group names itself. `CanViewTraces` is the
default for every DRF view (settings REST_FRAMEWORK DEFAULT_PERMISSION_CLASSES), so an endpoint that sets
nothing is open to viewers, engineers and admins and closed to users in no group. An endpoint that needs more
sets `permission_classes` to the one class below that names what it does. Anonymous callers are told 401
(`WWW-Authenticate: Token`), users without the permission 403.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from rest_framework.exceptions import ValidationError
from rest_framework.fields import BooleanField
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request

if TYPE_CHECKING:  # rest_framework.views imports this module (DEFAULT_PERMISSION_CLASSES) while it loads
    from rest_framework.views import APIView

from accounts.models import IngestKey
from accounts.roles import EXPORT_DEFAULT_REDACTION, Capability, can, export_requirements

# For `GET /api/me`-like endpoints (any signed-in user, even in no group), so they too name their rule here.
IsSignedIn = IsAuthenticated


class _RequiresCapability(BasePermission):
    capability: ClassVar[Capability]
    message = "Your role does not allow this."

    def has_permission(self, request: Request, view: "APIView") -> bool:
        return bool(request.user and request.user.is_authenticated) and can(request.user, self.capability)


class CanViewTraces(_RequiresCapability):
    """Traces, spans, span metadata, payload refs and hashes, facets, the API schema: every role."""

    capability = Capability.VIEW_TRACES
    message = "Your account has no role: ask an admin to add you to viewer, engineer or admin."


class CanReadPayloadContent(_RequiresCapability):
    capability = Capability.READ_PAYLOAD_CONTENT
    message = "Your role does not allow reading payload contents."


class CanImportBundles(_RequiresCapability):
    capability = Capability.IMPORT_BUNDLES
    message = "Your role does not allow importing bundles."


class CanDryReplay(_RequiresCapability):
    capability = Capability.DRY_REPLAY
    message = "Your role does not allow dry replay."


class CanExportTrace(BasePermission):
    """`POST /api/traces/{id}/export`: what is needed depends on the body's `include_payloads` and `redaction`
    (see `roles.export_requirements`); a missing `redaction` means strict, a missing `include_payloads` false,
    as in the export view's serializer.
    """

    message = "Your role does not allow this export (viewers may export strict redaction without payloads)."

    def has_permission(self, request: Request, view: "APIView") -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        data: Any = request.data if isinstance(request.data, Mapping) else {}
        needed = export_requirements(_include_payloads(data), _redaction(data))
        return all(can(request.user, capability) for capability in needed)


def _include_payloads(data: Mapping[str, Any]) -> bool:
    # Parsed as the export view's serializer parses it ("no", "0", "false"...); a value it would refuse counts
    # as true, so an odd value can only need more, never less.
    try:
        return bool(BooleanField().to_internal_value(data.get("include_payloads", False)))
    except ValidationError:
        return True


def _redaction(data: Mapping[str, Any]) -> str:
    redaction = data.get("redaction", EXPORT_DEFAULT_REDACTION)
    return redaction if isinstance(redaction, str) else ""


class HasIngestKey(BasePermission):
    """Endpoints SDKs call with `Authorization: Bearer <ingest key>` (with `IngestKeyAuthentication`)."""

    message = "An ingest key is required (Authorization: Bearer <key>)."

    def has_permission(self, request: Request, view: "APIView") -> bool:
        return isinstance(request.auth, IngestKey)

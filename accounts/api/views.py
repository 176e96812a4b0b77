"""`GET /api/me`: who the caller is, their role, and what they may do (the explorer shows controls by it)."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import MeSerializer
from accounts.permissions import IsSignedIn
from accounts.roles import capabilities, role_of


class MeView(APIView):
    # Open to users in no group too, so the explorer can tell them why they see nothing.
    permission_classes = [IsSignedIn]

    @extend_schema(responses=MeSerializer, operation_id="me")
    def get(self, request: Request) -> Response:
        user = request.user
        body = {
            "username": user.get_username(),
            "role": role_of(user),
            "is_superuser": user.is_superuser,
            "permissions": {capability.value: allowed for capability, allowed in capabilities(user).items()},
        }
        return Response(MeSerializer(body).data)

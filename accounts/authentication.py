"""DRF authentication classes of TraceFoundry: HTTP Basic behind the login throttle, and ingest keys.

Session and token authentication are DRF's own (see REST_FRAMEWORK in settings).
`ThrottledBasicAuthentication` checks passwords through `accounts.login_throttle`, so a locked username or
address gets 429 with Retry-After even with the right password. `IngestKeyAuthentication` is for the few
`/api/` endpoints that SDKs call with an ingest key (`Authorization: Bearer <key>`, e.g. `POST
/api/payloads`); it logs nobody in: `request.user` stays anonymous and `request.auth` is the `IngestKey`,
which `permissions.HasIngestKey` requires.
"""

from django.contrib.auth.models import AnonymousUser
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, BasicAuthentication
from rest_framework.request import Request

from accounts.ingest_keys import authenticate_ingest_key
from accounts.login_throttle import LoginThrottled, authenticate_throttled
from accounts.models import IngestKey


class ThrottledBasicAuthentication(BasicAuthentication):
    def authenticate_credentials(
        self, userid: str, password: str, request: Request | None = None
    ) -> tuple[object, None]:
        try:
            user = authenticate_throttled(request, userid, password, way_in="http-basic")
        except LoginThrottled as exc:
            raise exceptions.Throttled(wait=exc.retry_after, detail="Too many failed logins.") from exc
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed("Invalid username/password.")
        return (user, None)


class IngestKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[AnonymousUser, IngestKey] | None:
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        key = authenticate_ingest_key(header)
        if key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked ingest key.")
        return (AnonymousUser(), key)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="ingest"'

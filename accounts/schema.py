"""OpenAPI (drf-spectacular) descriptions of TraceFoundry's own authentication classes."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ThrottledBasicScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ThrottledBasicAuthentication"
    name = "basicAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "basic"}


class IngestKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.IngestKeyAuthentication"
    name = "ingestKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An ingest key (created in /admin/)."}

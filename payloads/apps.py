"""The payloads app: check the redaction policy and mode when Django starts, so a bad file stops start-up."""

from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class PayloadsConfig(AppConfig):
    name = "payloads"

    def ready(self) -> None:
        from payloads.contracts import RedactionMode
        from payloads.policy import PolicyError, cached_policy

        if settings.REDACTION_MODE not in set(RedactionMode):
            raise ImproperlyConfigured(
                f"REDACTION_MODE={settings.REDACTION_MODE!r} is not one of {', '.join(RedactionMode)}"
            )
        if settings.PAYLOAD_STORAGE not in ("filesystem", "s3"):
            raise ImproperlyConfigured(f"PAYLOAD_STORAGE={settings.PAYLOAD_STORAGE!r} must be filesystem or s3")
        if settings.PAYLOAD_STORAGE == "s3" and not settings.AWS_STORAGE_BUCKET_NAME:
            raise ImproperlyConfigured("PAYLOAD_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME")
        try:
            cached_policy(str(settings.TRACE_ALLOWLIST_FILE))
        except PolicyError as exc:
            raise ImproperlyConfigured(f"redaction policy: {exc}") from exc

"""Resolve the SDK's settings from `configure()` arguments, then the environment, then defaults.

Precedence for every setting: an explicit argument, then the TraceFoundry variable, then the standard
OpenTelemetry variable (where there is one), then the default. The OTLP endpoint follows the OTLP exporter
rules: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is used as-is, `OTEL_EXPORTER_OTLP_ENDPOINT` gets `/v1/traces`
appended; a TraceFoundry server URL gets `/otlp/v1/traces`.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote

RedactionMode = Literal["off", "standard", "strict"]
REDACTION_MODES: tuple[RedactionMode, ...] = ("off", "standard", "strict")
DEFAULT_URL = "http://127.0.0.1:8000"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigurationError(ValueError):
    """A setting has a value the SDK cannot use."""


@dataclass(frozen=True)
class Settings:
    service_name: str | None
    environment: str | None
    url: str
    otlp_endpoint: str
    ingest_key: str | None
    headers: dict[str, str] = field(default_factory=dict)
    compression: str = "gzip"
    redaction_mode: RedactionMode = "standard"
    capture_payloads: bool = True
    payload_dir: str | None = None
    policy_file: str | None = None

    @property
    def payloads_url(self) -> str:
        return f"{self.url}/api/payloads"


def resolve_settings(
    *,
    service_name: str | None = None,
    environment: str | None = None,
    url: str | None = None,
    otlp_endpoint: str | None = None,
    ingest_key: str | None = None,
    redaction_mode: str | None = None,
    capture_payloads: bool | None = None,
    payload_dir: str | None = None,
    policy_file: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    env = os.environ if environ is None else environ
    server_url = (url or env.get("TRACEFOUNDRY_URL") or DEFAULT_URL).rstrip("/")
    key = ingest_key or env.get("TRACEFOUNDRY_INGEST_KEY") or None
    headers = _parse_headers(env.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") or env.get("OTEL_EXPORTER_OTLP_HEADERS", ""))
    if key:
        headers["Authorization"] = f"Bearer {key}"
    mode = (redaction_mode or env.get("TRACEFOUNDRY_REDACTION_MODE") or "standard").strip().lower()
    if mode not in REDACTION_MODES:
        raise ConfigurationError(f"redaction mode {mode!r} is not one of {', '.join(REDACTION_MODES)}")
    compression = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION") or env.get("OTEL_EXPORTER_OTLP_COMPRESSION") or "gzip"
    )
    return Settings(
        service_name=service_name or env.get("OTEL_SERVICE_NAME") or None,
        environment=environment or env.get("TRACEFOUNDRY_ENVIRONMENT") or None,
        url=server_url,
        otlp_endpoint=_otlp_endpoint(otlp_endpoint, url, env, server_url),
        ingest_key=key,
        headers=headers,
        compression=compression.strip().lower(),
        redaction_mode=mode,
        capture_payloads=_flag(capture_payloads, env.get("TRACEFOUNDRY_CAPTURE_PAYLOADS"), default=True),
        payload_dir=payload_dir or env.get("TRACEFOUNDRY_PAYLOAD_DIR") or None,
        policy_file=policy_file or env.get("TRACEFOUNDRY_REDACTION_POLICY") or None,
    )


def _otlp_endpoint(explicit: str | None, url_argument: str | None, env: Mapping[str, str], server_url: str) -> str:
    if explicit:
        return explicit
    # An explicit server URL beats the generic OTEL_* variables: the caller named this server.
    if url_argument:
        return f"{server_url}/otlp/v1/traces"
    if env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return env["OTEL_EXPORTER_OTLP_ENDPOINT"].rstrip("/") + "/v1/traces"
    return f"{server_url}/otlp/v1/traces"


def _parse_headers(raw: str) -> dict[str, str]:
    """`key1=value1,key2=value2`, values URL-encoded, as the OTLP exporter specification defines."""
    headers: dict[str, str] = {}
    for item in raw.split(","):
        name, sep, value = item.partition("=")
        if sep and name.strip():
            headers[unquote(name.strip())] = unquote(value.strip())
    return headers


def _flag(explicit: bool | None, raw: str | None, *, default: bool) -> bool:
    if explicit is not None:
        return explicit
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"expected a boolean, got {raw!r}")

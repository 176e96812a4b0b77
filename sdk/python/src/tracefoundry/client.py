"""`configure()` and `shutdown()`: an OpenTelemetry TracerProvider, OTLP/HTTP exporter and payload capture.

TraceFoundry keeps its own TracerProvider, so it works beside one the application already set globally:
spans share the current OpenTelemetry context, so ours nest under the application's and the reverse. Pass
`tracer_provider=` to add the TraceFoundry exporter to an existing SDK provider instead, or
`set_global=True` to make ours the global one (ignored when a global SDK provider already exists).
"""

import atexit
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from tracefoundry.config import ConfigurationError, Settings, resolve_settings
from tracefoundry.ids import SeedableIdGenerator
from tracefoundry.payloads import PayloadCapture, PayloadUploader, UploadStats
from tracefoundry.redaction import build_redactor
from tracefoundry.version import __version__

logger = logging.getLogger("tracefoundry")
TRACER_NAME = "tracefoundry"


class Client:
    """One configured SDK: where spans go, how payloads are captured."""

    def __init__(
        self,
        settings: Settings,
        provider: TracerProvider,
        processor: SpanProcessor,
        payloads: PayloadCapture,
        *,
        owns_provider: bool,
    ) -> None:
        self.settings = settings
        self.provider = provider
        self.tracer = provider.get_tracer(TRACER_NAME, __version__)
        self.payloads = payloads
        self._processor = processor
        self._owns_provider = owns_provider
        self._closed = False

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Payloads first, so that a span never reaches the server long before what it refers to."""
        payloads_done = self.payloads.flush(timeout_s)
        return self._processor.force_flush(int(timeout_s * 1000)) and payloads_done

    def shutdown(self, timeout_s: float = 30.0) -> None:
        if self._closed:
            return
        self._closed = True
        self.flush(timeout_s)
        self.payloads.close(timeout_s)
        if self._owns_provider:
            self.provider.shutdown()
        else:
            self._processor.shutdown()


class PayloadsFirstExporter(SpanExporter):
    """Waits (bounded) until the payloads a batch of spans refers to are uploaded, then exports it.

    The server links a span to a payload only if the payload is already stored when the span arrives, so
    uploads queued while the spans ran go first. Export runs in the batch processor's thread, so the
    agent never waits; the wait is bounded, and spans are exported anyway when it runs out.
    """

    def __init__(self, inner: SpanExporter, payloads: PayloadCapture, wait_s: float = 30.0) -> None:
        self.inner = inner
        self._payloads = payloads
        self._wait_s = wait_s

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        refs = {
            str(value)
            for span in spans
            for key, value in (span.attributes or {}).items()
            if key.startswith("tracefoundry.payload.") and key.endswith("_ref")
        }
        if refs and not self._payloads.wait_for(refs, self._wait_s):
            logger.warning("exporting spans before all of their payloads were uploaded")
        return self.inner.export(spans)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


_lock = threading.Lock()
_client: Client | None = None
_atexit_registered = False


def configure(
    service_name: str | None = None,
    environment: str | None = None,
    url: str | None = None,
    ingest_key: str | None = None,
    *,
    otlp_endpoint: str | None = None,
    redaction_mode: str | None = None,
    capture_payloads: bool | None = None,
    payload_dir: str | None = None,
    policy_file: str | None = None,
    resource_attributes: Mapping[str, Any] | None = None,
    span_exporter: SpanExporter | None = None,
    batch: bool = True,
    tracer_provider: TracerProvider | None = None,
    set_global: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Client:
    """Set up tracing; every argument is optional and falls back to the environment (see `config.py`).

    `span_exporter` replaces the OTLP/HTTP exporter (tests use OpenTelemetry's in-memory exporter);
    `batch=False` exports each span as it ends instead of in background batches (in the caller's thread,
    which then also waits for pending payload uploads: meant for tests and short scripts).
    """
    global _client, _atexit_registered
    settings = resolve_settings(
        service_name=service_name,
        environment=environment,
        url=url,
        otlp_endpoint=otlp_endpoint,
        ingest_key=ingest_key,
        redaction_mode=redaction_mode,
        capture_payloads=capture_payloads,
        payload_dir=payload_dir,
        policy_file=policy_file,
        environ=environ,
    )
    payloads = _payload_capture(settings)
    exporter = PayloadsFirstExporter(span_exporter or _otlp_exporter(settings), payloads)
    processor: SpanProcessor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    owns_provider = tracer_provider is None
    provider = tracer_provider or TracerProvider(
        resource=_resource(settings, resource_attributes),
        id_generator=SeedableIdGenerator(),
        shutdown_on_exit=False,
    )
    provider.add_span_processor(processor)
    if set_global and owns_provider and not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(provider)
    client = Client(settings, provider, processor, payloads, owns_provider=owns_provider)
    with _lock:
        previous, _client = _client, client
        if not _atexit_registered:
            atexit.register(shutdown)
            _atexit_registered = True
    if previous is not None:
        previous.shutdown()
    return client


def shutdown(timeout_s: float = 30.0) -> None:
    """Flush payloads and spans and close the exporter. Safe to call twice; also runs at exit."""
    global _client
    with _lock:
        client, _client = _client, None
    if client is not None:
        client.shutdown(timeout_s)


def flush(timeout_s: float = 30.0) -> bool:
    client = _client
    return client.flush(timeout_s) if client else True


def current_client() -> Client | None:
    return _client


def payload_stats() -> UploadStats:
    """Counts of payloads queued, uploaded, retried, failed, dropped and written so far."""
    client = _client
    return client.payloads.stats if client else UploadStats()


def _otlp_exporter(settings: Settings) -> OTLPSpanExporter:
    try:
        compression = Compression(settings.compression)
    except ValueError as exc:
        raise ConfigurationError(f"OTLP compression {settings.compression!r} is not supported") from exc
    return OTLPSpanExporter(endpoint=settings.otlp_endpoint, headers=settings.headers, compression=compression)


def _resource(settings: Settings, extra: Mapping[str, Any] | None) -> Resource:
    # Resource.create also reads OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME; explicit values win.
    attributes: dict[str, Any] = {
        "telemetry.sdk.name": "opentelemetry",
        "tracefoundry.sdk.version": __version__,
    }
    if settings.service_name:
        attributes["service.name"] = settings.service_name
    if settings.environment:
        attributes["deployment.environment.name"] = settings.environment
    attributes.update(extra or {})
    return Resource.create(attributes)


def _payload_capture(settings: Settings) -> PayloadCapture:
    redactor = build_redactor(settings.redaction_mode, settings.policy_file)
    uploader = None
    if settings.capture_payloads and not settings.payload_dir and settings.ingest_key:
        uploader = PayloadUploader(settings.payloads_url, settings.ingest_key, redaction_mode=settings.redaction_mode)
    elif settings.capture_payloads and not settings.payload_dir:
        logger.warning("payload capture is on but there is no ingest key or payload directory: recording hashes only")
    return PayloadCapture(
        redactor, capture=settings.capture_payloads, uploader=uploader, payload_dir=settings.payload_dir
    )

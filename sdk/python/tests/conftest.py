"""Fixtures for the SDK's own tests: a configured SDK exporting to OpenTelemetry's in-memory exporter."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import tracefoundry
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def configured(exporter: InMemorySpanExporter) -> Iterator[Callable[..., tracefoundry.Client]]:
    """Configure the SDK (spans exported one by one into `exporter`); shut it down after the test."""

    def configure(**overrides: Any) -> tracefoundry.Client:
        options: dict[str, Any] = {
            "service_name": "sdk-tests",
            "environment": "test",
            "ingest_key": None,
            "span_exporter": exporter,
            "batch": False,
            "environ": {},
        }
        options.update(overrides)
        return tracefoundry.configure(**options)

    yield configure
    tracefoundry.shutdown()

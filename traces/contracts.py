"""Values that cross app boundaries for traces."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted_spans: int
    rejected_spans: int
    error_message: str
    trace_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LogIngestResult:
    accepted_records: int
    rejected_records: int
    error_message: str

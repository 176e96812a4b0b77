"""Values the bundles use cases return to views, commands and tests."""

from dataclasses import dataclass, field

from bundles.format import Manifest
from bundles.replay_checks import Check


@dataclass(frozen=True, slots=True)
class ExportedBundle:
    filename: str
    content: bytes
    manifest: Manifest


@dataclass(frozen=True, slots=True)
class ImportResult:
    trace_id: str
    span_count: int
    payload_count: int
    # False when the trace was already stored (a second import of the same bundle changes nothing).
    created: bool
    redaction: str
    payloads_included: bool
    # The bundle's own trace id: `trace_id` differs from it when imported under a new trace id.
    original_trace_id: str = ""


@dataclass(frozen=True, slots=True)
class ReplayReport:
    trace_id: str
    # "stored" (a trace in this database) or "bundle" (a bundle file, nothing of it stored).
    subject: str
    span_count: int
    checks: tuple[Check, ...]
    rerun_differences: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "trace_id": self.trace_id,
            "subject": self.subject,
            "span_count": self.span_count,
            "checks": [
                {
                    "name": check.name,
                    "ok": check.ok,
                    "skipped": check.skipped,
                    "detail": check.detail,
                    "findings": list(check.findings),
                }
                for check in self.checks
            ],
            "rerun_differences": list(self.rerun_differences),
        }

"""What each LLM client library's release sent when recorded (`testing/conventions/golden/<library>.json`).

Recorded by `testing/conventions/record_goldens.py`: every text a library could capture carries the marker
`golden` (`prompt-golden`, `toolarg-golden`, …). Read here as decoded spans for the capture and mapping tests.
"""

import json
import re
from pathlib import Path
from typing import Any

from payloads.contracts import OtlpSpan

GOLDEN = Path(__file__).resolve().parent / "conventions" / "golden"
LIBRARIES = sorted(path.stem for path in GOLDEN.glob("*.json"))
MARKER = "golden"
MARKED = re.compile(r"[a-z]+-golden")
ERROR = 2


def received(library: str) -> list[dict[str, Any]]:
    return list(json.loads((GOLDEN / f"{library}.json").read_text())["received"])


def status_code(record: dict[str, Any]) -> int:
    return ERROR if record["status"].get("code") in (ERROR, "STATUS_CODE_ERROR") else 0


def golden_spans(library: str) -> list[OtlpSpan]:
    return [as_span(record, index) for index, record in enumerate(received(library)) if record["signal"] == "span"]


def as_span(record: dict[str, Any], index: int) -> OtlpSpan:
    return OtlpSpan(
        trace_id="5b8efff798038103d269b633813fc60c",
        span_id=f"{index + 1:016x}",
        parent_span_id="",
        name=record["name"],
        kind=1,
        start_unix_nano=1,
        end_unix_nano=2,
        status_code=status_code(record),
        status_message=record["status"].get("message", ""),
        trace_state="",
        flags=0,
        attributes=record["attributes"],
        resource_attributes={"service.name": record.get("scope", "") or "lib"},
        events=[
            {"name": event["name"], "time_unix_nano": 1, "attributes": event["attributes"]}
            for event in record["events"]
        ],
        links=[],
        scope={"name": record.get("scope", ""), "version": "", "attributes": {}},
    )

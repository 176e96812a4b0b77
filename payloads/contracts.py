"""Values that cross app boundaries: a decoded OTLP span, a span that cannot be stored, attribute values, the
redaction modes, and the one trace-id check.

Why here: the apps depend one way (`bundles` → `traces` → `payloads`), and `payloads` sits lowest. A decoded
span is what payload capture consumes (`payloads.capture`), what `traces` decodes into and writes, and what
`bundles` exports and replays; so its type lives in the app every other one may import, and `payloads` never
needs to import from `traces`. The redaction modes are stored with each blob (`payloads.models`), applied by
`payloads.redaction`, written into bundle manifests and weighed by `accounts.roles`: `accounts` imports this
module and nothing else of the apps. Pure: dataclasses, an enum and a regex, no ORM, no I/O.
"""

import re
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from django.db import models

# A JSON value as decoded from an OTLP AnyValue: str, int, float, bool, None, list or dict of these.
JsonValue = Any
Attributes = dict[str, JsonValue]

_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


class RedactionMode(models.TextChoices):
    """How much is masked (see DESIGN.md, Redaction), strictest first. Labels are the values: the API shows
    these exact words."""

    STRICT = "strict", "strict"
    STANDARD = "standard", "standard"
    OFF = "off", "off"


# Not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__, six times slower to
# build, and two are built for every span ingested. Treat it as immutable all the same.
@dataclass(slots=True)
class OtlpSpan:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    start_unix_nano: int
    end_unix_nano: int
    status_code: int
    status_message: str
    trace_state: str
    flags: int
    attributes: Attributes
    resource_attributes: Attributes
    events: list[dict[str, JsonValue]]
    links: list[dict[str, JsonValue]]
    scope: dict[str, JsonValue]
    otlp_extra: dict[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RejectedSpan:
    trace_id: str
    span_id: str
    reason: str


def is_trace_id(text: object) -> TypeGuard[str]:
    """A trace id as stored: 32 lowercase hex characters."""
    return isinstance(text, str) and _TRACE_ID.match(text) is not None


def parse_trace_id(raw: str) -> str | None:
    """A trace id typed by a person or a URL (hex in either case), lowercased; None if it is not one."""
    lowered = raw.lower()
    return lowered if len(raw) == 32 and is_trace_id(lowered) else None

"""Mask secrets and personal data in span fields under a redaction mode (off, standard, strict).

Pure: no ORM, no I/O (the policy comes from `payloads.policy`). `Redactor` applies one policy under one
mode; `redact_span_parts` redacts every text-bearing field of a span and is what ingest and exports use, so
an already-stored span can be brought to a stricter mode with the same rules.

Speed: regexes are compiled once with the policy; a pattern with hints runs only when one of its hint
substrings occurs in the lower-cased text, one with `min_digits` only on text with that many digits; strings
shorter than the shortest possible secret are skipped, and allowlist decisions are cached per key.

Known limits: only string values are scanned (a secret split across two attributes, or encoded as bytes or
numbers, is not found); a card number must pass the Luhn check to be masked.
"""

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from payloads import refs
from payloads.contracts import RedactionMode
from payloads.policy import CREDENTIAL, PERSONAL, Pattern, Policy, cached_policy

DROPPED_ATTRIBUTES_KEY = "tracefoundry.redaction.dropped_attributes"
# What is left of a value whose key names a secret (policy `secret_keys`), whatever the value's type.
SECRET_VALUE_MASK = "[REDACTED:secret_key]"  # noqa: S105 (the mask, not a secret)
_REDACTION_KEY_PREFIX = "tracefoundry.redaction."
# Shorter strings cannot hold any of the patterns we look for (the shortest, an email, is a@b.cd).
_MIN_SECRET_CHARS = 6
_KEY_CACHE_LIMIT = 50_000
# Short values repeat across spans (operation, model, tool and service names, attribute keys): their
# redaction is remembered. Longer ones are mostly unique content and are scanned each time.
_TEXT_CACHE_MAX_CHARS = 256
_TEXT_CACHE_LIMIT = 100_000
_ANY_LENGTH = sys.maxsize


def is_own_key(key: str) -> bool:
    """TraceFoundry's own keys (payload refs and sizes, redaction notes) survive strict mode and are never
    treated as content."""
    return refs.parse_key(key) is not None or key.startswith(_REDACTION_KEY_PREFIX)


_MASKED_CLASSES = {
    RedactionMode.OFF: (),
    RedactionMode.STANDARD: (CREDENTIAL,),
    RedactionMode.STRICT: (CREDENTIAL, PERSONAL),
}
# How strict each mode is, for "never loosen" checks (an export may only make a span stricter).
STRICTNESS = {RedactionMode.OFF: 0, RedactionMode.STANDARD: 1, RedactionMode.STRICT: 2}


@dataclass(frozen=True, slots=True)
class SpanParts:
    """Every text-bearing field of a span, as stored (events and links as the dicts of `traces.otlp`)."""

    name: str
    status_message: str
    trace_state: str
    attributes: dict[str, Any]
    resource_attributes: dict[str, Any]
    events: list[dict[str, Any]]
    links: list[dict[str, Any]]
    scope: dict[str, Any]


class Redactor:
    """One policy under one mode. Holds per-key caches, so build it once (see `redactor_for`)."""

    def __init__(self, policy: Policy, mode: RedactionMode) -> None:
        self.policy = policy
        self.mode = mode
        masked = _MASKED_CLASSES[mode]
        patterns = [pattern for pattern in policy.patterns if pattern.pattern_class in masked]
        self._steps: tuple[tuple[tuple[str, ...], int, int, Callable[[str], str]], ...] = tuple(
            (pattern.hints, pattern.hints_above_chars, pattern.min_digits, _substitution(pattern))
            for pattern in patterns
        )
        # Most text holds no hint of any pattern: one search for all hints at once rules them out together,
        # instead of a loop over every pattern's hints.
        hints = sorted({hint for pattern in patterns for hint in pattern.hints}, key=len, reverse=True)
        self._any_hint = re.compile("|".join(map(re.escape, hints))) if hints else None
        # What runs on such text, in order: the patterns without hints, and those scanning short text anyway.
        self._unhinted_steps = tuple(
            (above if hints else _ANY_LENGTH, min_digits, substitute)
            for hints, above, min_digits, substitute in self._steps
            if not hints or above
        )
        self.drops_unlisted = mode == RedactionMode.STRICT
        self._allowed: dict[str, bool] = {}
        self._secret_keys: dict[str, bool] = {}
        self._redacted_short: dict[str, str] = {}

    def text(self, text: str) -> str:
        if not self._steps or len(text) < _MIN_SECRET_CHARS:
            return text
        if len(text) > _TEXT_CACHE_MAX_CHARS:
            return self._scan(text)
        redacted = self._redacted_short.get(text)
        if redacted is None:
            if len(self._redacted_short) >= _TEXT_CACHE_LIMIT:
                self._redacted_short.clear()
            redacted = self._redacted_short[text] = self._scan(text)
        return redacted

    def _scan(self, text: str) -> str:
        lowered = text.lower()
        length = len(text)
        digits = -1
        if self._any_hint is None or self._any_hint.search(lowered) is None:
            for hints_above_chars, min_digits, substitute in self._unhinted_steps:
                if length > hints_above_chars:
                    continue
                if min_digits:
                    if digits < 0:
                        digits = _digit_count(text)
                    if digits < min_digits:
                        continue
                text = substitute(text)
            return text
        for hints, hints_above_chars, min_digits, substitute in self._steps:
            if hints and length > hints_above_chars:
                for hint in hints:
                    if hint in lowered:
                        break
                else:
                    continue
            if min_digits:
                if digits < 0:
                    digits = _digit_count(text)  # once, of the text as given: a necessary condition either way
                if digits < min_digits:
                    continue
            text = substitute(text)
        return text

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if not self._steps:
            return value
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {
                self.text(key): SECRET_VALUE_MASK if self.is_secret_key(key) else self.value(item)
                for key, item in value.items()
            }
        return value

    def is_secret_key(self, key: str) -> bool:
        """Whether the value under `key` is masked whole (never under `off`; TraceFoundry's own keys never)."""
        secret = self._secret_keys.get(key)
        if secret is None:
            secret = bool(self._steps) and not is_own_key(key) and self.policy.is_secret_key(key)
            if len(self._secret_keys) >= _KEY_CACHE_LIMIT:
                self._secret_keys.clear()
            self._secret_keys[key] = secret
        return secret

    def is_allowed(self, key: str) -> bool:
        allowed = self._allowed.get(key)
        if allowed is None:
            allowed = is_own_key(key) or self.policy.is_allowed(key)
            if len(self._allowed) >= _KEY_CACHE_LIMIT:
                self._allowed.clear()
            self._allowed[key] = allowed
        return allowed

    def attributes(self, attributes: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """The attributes masked (and, in strict mode, limited to the allowlist) and how many were dropped."""
        if not self._steps and not self.drops_unlisted:
            return attributes, 0
        kept: dict[str, Any] = {}
        dropped = 0
        for key, value in attributes.items():
            if self.drops_unlisted and not self.is_allowed(key):
                dropped += 1
                continue
            kept[self.text(key)] = SECRET_VALUE_MASK if self.is_secret_key(key) else self.value(value)
        return kept, dropped

    def nested(self, items: list[dict[str, Any]], text_fields: tuple[str, ...]) -> tuple[list[dict[str, Any]], int]:
        """Events or links: their `attributes` like span attributes, the named text fields masked."""
        if not items or (not self._steps and not self.drops_unlisted):
            return items, 0
        result = []
        dropped = 0
        for item in items:
            attributes, item_dropped = self.attributes(item.get("attributes") or {})
            dropped += item_dropped
            copy = {**item, "attributes": attributes}
            for field in text_fields:
                if isinstance(copy.get(field), str):
                    copy[field] = self.text(copy[field])
            result.append(copy)
        return result, dropped

    def scope(self, scope: dict[str, Any]) -> dict[str, Any]:
        # The scope describes the instrumentation library: its name, version and attributes are masked, never
        # dropped.
        if not self._steps or not scope:
            return scope
        return {key: self.value(value) for key, value in scope.items()}


def redact_span_parts(parts: SpanParts, redactor: Redactor) -> SpanParts:
    """Every field of a span masked under the redactor's mode; strict mode records the dropped count."""
    attributes, dropped = redactor.attributes(parts.attributes)
    resource_attributes, resource_dropped = redactor.attributes(parts.resource_attributes)
    events, events_dropped = redactor.nested(parts.events, ("name",))
    links, links_dropped = redactor.nested(parts.links, ("trace_state",))
    if redactor.drops_unlisted:
        attributes = {**attributes}
        previous = attributes.get(DROPPED_ATTRIBUTES_KEY)
        already = previous if isinstance(previous, int) and not isinstance(previous, bool) else 0
        attributes[DROPPED_ATTRIBUTES_KEY] = already + dropped + resource_dropped + events_dropped + links_dropped
    return SpanParts(
        name=redactor.text(parts.name),
        status_message=redactor.text(parts.status_message),
        trace_state=redactor.text(parts.trace_state),
        attributes=attributes,
        resource_attributes=resource_attributes,
        events=events,
        links=links,
        scope=redactor.scope(parts.scope),
    )


# --- configured policy and mode ------------------------------------------------------------------------


_REDACTORS: dict[tuple[str, RedactionMode], Redactor] = {}


def current_mode() -> RedactionMode:
    return RedactionMode(settings.REDACTION_MODE)


def configured_policy() -> Policy:
    return cached_policy(str(settings.TRACE_ALLOWLIST_FILE))


def redactor_for(mode: RedactionMode | str | None = None) -> Redactor:
    """The redactor of the configured policy under `mode` (default: REDACTION_MODE), built once."""
    resolved = current_mode() if mode is None else RedactionMode(mode)
    policy = configured_policy()
    key = (policy.source, resolved)
    redactor = _REDACTORS.get(key)
    if redactor is None or redactor.policy is not policy:
        redactor = _REDACTORS[key] = Redactor(policy, resolved)
    return redactor


def redact_text(text: str, mode: RedactionMode | str) -> str:
    return redactor_for(mode).text(text)


def redact_value(value: Any, mode: RedactionMode | str) -> Any:
    return redactor_for(mode).value(value)


def redact_attributes(attributes: dict[str, Any], mode: RedactionMode | str) -> tuple[dict[str, Any], int]:
    """Attributes masked under `mode` (strict: limited to the allowlist) and the number dropped."""
    return redactor_for(mode).attributes(attributes)


# --- substitutions ---------------------------------------------------------------------------------------


def _substitution(pattern: Pattern) -> Callable[[str], str]:
    regex, replacement = pattern.regex, pattern.replacement
    if not pattern.check and not pattern.has_secret_group:
        # The replacement holds no backslash (pattern names are [a-z0-9_]), so it is used literally.
        return lambda text: regex.sub(replacement, text)
    needs_luhn = pattern.check == "luhn"
    secret_group = pattern.has_secret_group

    def replace(match: re.Match[str]) -> str:
        found = match.group()
        if needs_luhn and not _luhn_ok(found):
            return found
        if not secret_group or match.start("secret") < 0:
            return replacement
        start, end = match.start("secret") - match.start(), match.end("secret") - match.start()
        return found[:start] + replacement + found[end:]

    return lambda text: regex.sub(replace, text)


_NOT_DIGITS = bytes(byte for byte in range(256) if not 0x30 <= byte <= 0x39)


def _digit_count(text: str) -> int:
    # bytes.translate deletes in one C pass: ten times faster than a regex scan for digits over long text.
    return len(text.encode("utf-8", "surrogatepass").translate(None, _NOT_DIGITS))


def _luhn_ok(text: str) -> bool:
    digits = [int(char) for char in text if char.isdigit()]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0

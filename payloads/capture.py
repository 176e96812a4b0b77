"""Turn one decoded span into a redacted span plus the payloads taken out of it. Pure: no ORM, no I/O.

Which attributes and events carry content comes from the policy (`payload_attributes`, `payload_events`).
Content is grouped into one payload per role (flattened OpenInference keys are reassembled into one JSON
value), redacted, serialised, hashed, and replaced on the span by `tracefoundry.payload.<role>_ref`
(`sha256:<hex>`) and `tracefoundry.payload.<role>_size`. Everything left on the span is redacted under the
same mode (see `payloads.redaction`). Refs that an SDK put on the span itself are returned as declared refs.

Safety net for conventions the policy does not list: in `standard` and `strict`, a string (or the strings
of a list or map together) of at least `free_text_payload_min_chars` characters under a key that is neither
allowed metadata nor a content key becomes content of role `other`, on the span and on its events alike, so
a new library cannot put prompts in front of viewers. Allowed keys (such as `exception.stacktrace`) and
shorter values stay.
"""

import json
from dataclasses import dataclass
from typing import Any, cast

from payloads import refs
from payloads.contracts import OtlpSpan, RedactionMode
from payloads.hashing import sha256_hex
from payloads.policy import SUFFIX_ROLE, PayloadAttributeRule, PayloadEventRule, Policy
from payloads.redaction import (
    DROPPED_ATTRIBUTES_KEY,
    SECRET_VALUE_MASK,
    Redactor,
    is_own_key,
)

JSON_CONTENT_TYPE = "application/json"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
EVENTS_SOURCE = "events"
FREE_TEXT_ROLE = "other"
_CACHE_LIMIT = 50_000


@dataclass(frozen=True, slots=True)
class CapturedPayload:
    role: str
    attribute: str
    content: bytes
    content_type: str
    sha256: str
    redaction_mode: str


@dataclass(frozen=True, slots=True)
class DeclaredRef:
    """`tracefoundry.payload.<role>_ref` sent on the span by an SDK that uploaded the payload itself."""

    role: str
    attribute: str
    sha256: str


@dataclass(frozen=True, slots=True)
class CapturedSpan:
    span: OtlpSpan
    payloads: tuple[CapturedPayload, ...]
    declared_refs: tuple[DeclaredRef, ...]


# How an attribute key is handled, decided once per key and policy (see `SpanCapture._classify`).
_PLAIN, _DROP, _OWN_REF, _PAYLOAD, _SECRET = range(5)


@dataclass(frozen=True, slots=True)
class _KeyKind:
    kind: int
    # The key as stored: masked like any other text (keys can hold secrets too).
    stored_key: str
    # `_OWN_REF`: the role; `_PAYLOAD`: the rule.
    role: str = ""
    rule: PayloadAttributeRule | None = None
    # Neither allowed metadata nor content: a long string under it is content (the safety net).
    unknown: bool = False


class SpanCapture:
    """Captures spans under one redactor; keeps per-key caches, so one instance serves many spans.

    Attributes are classified, masked and moved in one pass (this runs for every ingested span); the result is
    what `redact_span_parts` gives for the same span, minus the payload attributes.
    """

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self.policy: Policy = redactor.policy
        self._free_text_min = 0 if redactor.mode == RedactionMode.OFF else self.policy.free_text_payload_min_chars
        self._kinds: dict[str, _KeyKind] = {}
        self._event_rules: dict[str, PayloadEventRule | None] = {}
        # Resource and scope dicts are shared by every span of a resource/scope: redact each once.
        self._last_resource: tuple[dict[str, Any], dict[str, Any], int] | None = None
        self._last_scope: tuple[dict[str, Any], dict[str, Any]] | None = None

    def capture(self, span: OtlpSpan) -> CapturedSpan:
        redactor = self.redactor
        text = redactor.text
        masked_value = redactor.value
        kinds = self._kinds
        sources: dict[str, dict[str, Any]] = {}
        attributes: dict[str, Any] = {}
        declared: list[DeclaredRef] = []
        dropped = 0
        free_text_min = self._free_text_min
        for key, value in span.attributes.items():
            kind = kinds.get(key) or self._kind(key)
            if kind.unknown and _text_length(value) >= free_text_min:
                sources.setdefault(FREE_TEXT_ROLE, {})[key] = value
            elif kind.kind == _PLAIN:
                attributes[kind.stored_key] = text(value) if value.__class__ is str else masked_value(value)
            elif kind.kind == _PAYLOAD:
                rule = cast(PayloadAttributeRule, kind.rule)
                if rule.flattened:
                    sources.setdefault(rule.role, {}).setdefault(rule.glob, {})[key[len(rule.prefix) :]] = value
                else:
                    role = key[len(rule.prefix) :] if rule.role == SUFFIX_ROLE else rule.role
                    sources.setdefault(role, {})[key] = value
            elif kind.kind == _SECRET:
                attributes[kind.stored_key] = SECRET_VALUE_MASK
            elif kind.kind == _OWN_REF:
                sha = refs.sha256_of_value(value)
                if sha:
                    declared.append(DeclaredRef(role=kind.role, attribute=key, sha256=sha))
                    # Sent as a content ref (an SDK's upload, a bundle's payload): the span shows the public ref.
                    attributes[kind.stored_key] = refs.public_value(sha)
                else:
                    attributes[kind.stored_key] = text(value) if value.__class__ is str else masked_value(value)
            else:
                dropped += 1
        events, event_roles = self._take_event_content(span.events, sources)
        events, events_dropped = redactor.nested(events, ("name",))
        links, links_dropped = redactor.nested(span.links, ("trace_state",))
        resource_attributes, resource_dropped = self._resource(span.resource_attributes)
        if redactor.drops_unlisted:
            previous = attributes.get(DROPPED_ATTRIBUTES_KEY)
            already = previous if isinstance(previous, int) and not isinstance(previous, bool) else 0
            attributes[DROPPED_ATTRIBUTES_KEY] = already + dropped + events_dropped + links_dropped + resource_dropped

        payloads = tuple(self._payload(role, role_sources) for role, role_sources in sources.items())
        for payload in payloads:
            attributes[refs.ref_key(payload.role)] = refs.public_value(payload.sha256)
            attributes[refs.size_key(payload.role)] = len(payload.content)
        if event_roles:
            role_refs = {payload.role: refs.public_value(payload.sha256) for payload in payloads}
            events = [
                {
                    **event,
                    "attributes": {
                        **event["attributes"],
                        refs.ref_key(event_roles[i]): role_refs[event_roles[i]],
                    },
                }
                if i in event_roles
                else event
                for i, event in enumerate(events)
            ]
        captured = OtlpSpan(
            span.trace_id,
            span.span_id,
            span.parent_span_id,
            text(span.name),
            span.kind,
            span.start_unix_nano,
            span.end_unix_nano,
            span.status_code,
            text(span.status_message),
            text(span.trace_state),
            span.flags,
            attributes,
            resource_attributes,
            events,
            links,
            self._scope(span.scope),
            span.otlp_extra,
        )
        return CapturedSpan(span=captured, payloads=payloads, declared_refs=tuple(declared))

    def _payload(self, role: str, role_sources: dict[str, Any]) -> CapturedPayload:
        resolved = {
            source: _unflatten(value) if source.endswith(".*") and isinstance(value, dict) else value
            for source, value in role_sources.items()
        }
        value = next(iter(resolved.values())) if len(resolved) == 1 else resolved
        content, content_type = serialise(self.redactor.value(value))
        return CapturedPayload(
            role=role,
            attribute=",".join(resolved)[:255],
            content=content,
            content_type=content_type,
            sha256=sha256_hex(content),
            redaction_mode=self.redactor.mode.value,
        )

    def _kind(self, key: str) -> _KeyKind:
        kind = self._classify(key)
        if len(self._kinds) >= _CACHE_LIMIT:
            self._kinds.clear()
        self._kinds[key] = kind
        return kind

    def _classify(self, key: str) -> _KeyKind:
        stored_key = self.redactor.text(key)
        if is_own_key(key):
            role = refs.ref_role(key)
            return _KeyKind(_OWN_REF, stored_key, role=role) if role else _KeyKind(_PLAIN, stored_key)
        if self.redactor.is_secret_key(key):
            # A secret is masked whole, never kept as a payload; strict mode drops it like any unlisted key.
            if self.redactor.drops_unlisted and not self.redactor.is_allowed(key):
                return _KeyKind(_DROP, stored_key)
            return _KeyKind(_SECRET, stored_key)
        rule = self.policy.payload_rule(key)
        if rule is not None and not (rule.role == SUFFIX_ROLE and not refs.is_role(key[len(rule.prefix) :])):
            return _KeyKind(_PAYLOAD, stored_key, rule=rule)
        unknown = bool(self._free_text_min) and not self.redactor.is_allowed(key)
        if self.redactor.drops_unlisted and not self.redactor.is_allowed(key):
            return _KeyKind(_DROP, stored_key, unknown=unknown)
        return _KeyKind(_PLAIN, stored_key, unknown=unknown)

    def _event_rule(self, name: str) -> PayloadEventRule | None:
        if name not in self._event_rules:
            if len(self._event_rules) >= _CACHE_LIMIT:
                self._event_rules.clear()
            self._event_rules[name] = self.policy.event_rule(name)
        return self._event_rules[name]

    def _take_event_content(
        self, events: list[dict[str, Any]], sources: dict[str, dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], dict[int, str]]:
        """Events without their content attributes, and the role each stripped event's content went to."""
        if not events:
            return events, {}
        kept: list[dict[str, Any]] = []
        roles: dict[int, str] = {}
        for index, event in enumerate(events):
            rule = self._event_rule(str(event.get("name", "")))
            attributes = event.get("attributes") or {}
            if rule is not None and any(key in rule.content_attributes for key in attributes):
                role = rule.role
                content_keys = {key for key in attributes if key in rule.content_attributes}
            elif self._free_text_min and any(self._is_free_text(key, value) for key, value in attributes.items()):
                role = FREE_TEXT_ROLE
                content_keys = {key for key, value in attributes.items() if self._is_free_text(key, value)}
            else:
                kept.append(event)
                continue
            content = {key: value for key, value in attributes.items() if key in content_keys}
            rest = {key: value for key, value in attributes.items() if key not in content_keys}
            sources.setdefault(role, {}).setdefault(EVENTS_SOURCE, []).append(
                {"name": event.get("name", ""), "attributes": content}
            )
            roles[index] = role
            kept.append({**event, "attributes": rest})
        return kept, roles

    def _is_free_text(self, key: str, value: Any) -> bool:
        return _text_length(value) >= self._free_text_min and not self.redactor.is_allowed(key)

    def _resource(self, resource_attributes: dict[str, Any]) -> tuple[dict[str, Any], int]:
        last = self._last_resource
        if last is not None and last[0] is resource_attributes:
            return last[1], last[2]
        redacted, dropped = self.redactor.attributes(resource_attributes)
        # Holding the source dict keeps its identity from being reused by another object.
        self._last_resource = (resource_attributes, redacted, dropped)
        return redacted, dropped

    def _scope(self, scope: dict[str, Any]) -> dict[str, Any]:
        last = self._last_scope
        if last is not None and last[0] is scope:
            return last[1]
        redacted = self.redactor.scope(scope)
        self._last_scope = (scope, redacted)
        return redacted


def serialise(value: Any) -> tuple[bytes, str]:
    """A payload's bytes and type: text as-is (JSON if it is a JSON array/object), else compact JSON."""
    if isinstance(value, str):
        content_type = JSON_CONTENT_TYPE if _is_json_document(value) else TEXT_CONTENT_TYPE
        return value.encode("utf-8", "surrogatepass"), content_type
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass"), JSON_CONTENT_TYPE


def _text_length(value: Any) -> int:
    """Characters of text in an attribute value: a string's, or all strings of a list or map together."""
    if value.__class__ is str:
        return len(value)
    if isinstance(value, list):
        return sum(_text_length(item) for item in value)
    if isinstance(value, dict):
        return sum(_text_length(item) for item in value.values())
    return 0


def _is_json_document(text: str) -> bool:
    # A shape check, not a parse: parsing every prompt would cost more than redacting it. Clients that
    # read payloads parse them anyway and fall back to text.
    stripped = text.strip()
    return len(stripped) >= 2 and (stripped[0], stripped[-1]) in (("[", "]"), ("{", "}"))


def _unflatten(entries: dict[str, Any]) -> Any:
    """`{"0.message.role": "user", "0.message.content": "hi"}` -> `[{"message": {"role": "user", ...}}]`."""
    root: dict[str, Any] = {}
    for path, value in sorted(entries.items()):
        node = root
        parts = path.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                # A value already sits where a deeper key needs a map: keep it under "".
                child = {} if child is None else {"": child}
                node[part] = child
            node = child
        leaf = parts[-1]
        if isinstance(node.get(leaf), dict):
            node[leaf][""] = value
        else:
            node[leaf] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted

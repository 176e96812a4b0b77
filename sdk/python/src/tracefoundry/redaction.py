"""Client-side redaction with the server's policy file format (`deploy/trace-allowlist.yaml`).

Only the `patterns` section matters to the SDK (the attribute sections steer the server's ingest). Each
pattern has a `name`, a `class` (`credential` or `personal`), a Python `regex`, optional lower-case
`hints` (at least one must occur in the lower-cased text for the regex to run, unless the text has at most
`hints_above_chars` characters) and an optional
`check: luhn`. A match becomes `[REDACTED:<name>]`, or only its `secret` group does when the regex has
one. Patterns run in file order, each on the output of the previous one. Modes: `off` masks nothing,
`standard` masks credentials, `strict` credentials and personal data: the same rules as the server, so a
payload redacted here hashes to the ref the server computes.

The SDK ships a copy of the server's default policy (`tracefoundry/policy/trace-allowlist.yaml`, kept
equal to `deploy/trace-allowlist.yaml` by a test); `TRACEFOUNDRY_REDACTION_POLICY` names another file.
Pure: no I/O beyond reading the policy file.
"""

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

DEFAULT_POLICY = "trace-allowlist.yaml"
# No pattern can match fewer characters (the shortest, an email, is a@b.cd); the server skips these too.
_MIN_SECRET_CHARS = 6
CLASSES_BY_MODE = {
    "off": frozenset[str](),
    "standard": frozenset({"credential"}),
    "strict": frozenset({"credential", "personal"}),
}


class PolicyError(ValueError):
    """The policy file cannot be used."""


@dataclass(frozen=True)
class Pattern:
    name: str
    pattern_class: str
    regex: re.Pattern[str]
    hints: tuple[str, ...] = ()
    hints_above_chars: int = 0
    check: str = ""

    @property
    def replacement(self) -> str:
        return f"[REDACTED:{self.name}]"

    def apply(self, text: str, lowered: str, length: int) -> tuple[str, int]:
        """Mask matches in `text`; `lowered` and `length` are those of the text *before* any pattern ran."""
        if self.hints and length > self.hints_above_chars and not any(hint in lowered for hint in self.hints):
            return text, 0
        return self.regex.subn(self._replace, text)

    def _replace(self, match: re.Match[str]) -> str:
        whole = match.group(0)
        if self.check == "luhn" and not _passes_luhn(whole):
            return whole
        if "secret" in self.regex.groupindex and match.group("secret") is not None:
            start, end = match.span("secret")
            offset = match.start()
            return whole[: start - offset] + self.replacement + whole[end - offset :]
        return self.replacement


class Redactor:
    """Masks every match of the policy's patterns whose class `mode` covers."""

    def __init__(self, patterns: list[Pattern], mode: str) -> None:
        if mode not in CLASSES_BY_MODE:
            raise PolicyError(f"unknown redaction mode {mode!r}")
        self.mode = mode
        self.patterns = [p for p in patterns if p.pattern_class in CLASSES_BY_MODE[mode]]

    def redact(self, text: str) -> tuple[str, bool]:
        if not self.patterns or len(text) < _MIN_SECRET_CHARS:
            return text, False
        # Hints are checked against the original text, as the server does, so both mask identically.
        original, lowered = text, text.lower()
        for pattern in self.patterns:
            text, _ = pattern.apply(text, lowered, len(original))
        return text, text != original


def default_policy_text() -> str:
    return resources.files("tracefoundry").joinpath("policy", DEFAULT_POLICY).read_text(encoding="utf-8")


def load_patterns(path: str | Path | None = None) -> list[Pattern]:
    text = default_policy_text() if path is None else Path(path).read_text(encoding="utf-8")
    return parse_patterns(yaml.safe_load(text) or {})


def parse_patterns(policy: dict[str, Any]) -> list[Pattern]:
    if str(policy.get("version", "1")) != "1":
        raise PolicyError(f"unsupported policy version {policy.get('version')!r} (this SDK reads version 1)")
    patterns = []
    for entry in policy.get("patterns") or []:
        try:
            patterns.append(
                Pattern(
                    name=str(entry["name"]),
                    pattern_class=str(entry["class"]),
                    regex=re.compile(entry["regex"]),
                    hints=tuple(str(hint) for hint in entry.get("hints") or ()),
                    hints_above_chars=int(entry.get("hints_above_chars") or 0),
                    check=str(entry.get("check") or ""),
                )
            )
        except (KeyError, TypeError, re.error) as exc:
            raise PolicyError(f"invalid pattern entry {entry!r}: {exc}") from exc
    return patterns


def build_redactor(mode: str, policy_file: str | Path | None = None) -> Redactor:
    return Redactor(load_patterns(policy_file), mode)


def _passes_luhn(text: str) -> bool:
    digits = [int(c) for c in text if c.isdigit()]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return bool(digits) and total % 10 == 0

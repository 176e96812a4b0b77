"""Load and validate the redaction policy file (`deploy/trace-allowlist.yaml`) into compiled rules.

Pure apart from reading the file. The YAML is walked as composed nodes so every error names its line; the
format itself is documented in the comments of the policy file. Globs and regexes are compiled once here.

Known limits: globs are fnmatch-style (`*` also crosses dots); keys are matched case-sensitively.
"""

import fnmatch
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

CREDENTIAL = "credential"
PERSONAL = "personal"
PATTERN_CLASSES = (CREDENTIAL, PERSONAL)
SUFFIX_ROLE = "{suffix}"
_NAME = re.compile(r"^[a-z0-9_]{1,48}$")
_CHECKS = ("luhn",)
_NEVER = re.compile(r"(?!)")
# Below this a "long free-text" threshold would turn ordinary short values (names, ids, URLs) into payloads.
MIN_FREE_TEXT_CHARS = 64


class PolicyError(ValueError):
    """The policy file cannot be used; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class PayloadAttributeRule:
    glob: str
    role: str
    flattened: bool
    # For flattened rules and "{suffix}" roles: the literal text before the trailing `*`.
    prefix: str


@dataclass(frozen=True, slots=True)
class PayloadEventRule:
    glob: str
    role: str
    content_attributes: frozenset[str]
    regex: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Pattern:
    name: str
    pattern_class: str
    regex: re.Pattern[str]
    hints: tuple[str, ...]
    # Text of at most this many characters is scanned without looking for a hint (0: hints always apply).
    hints_above_chars: int
    check: str
    # The regex runs only on text with at least this many ASCII digits (0: always).
    min_digits: int
    # The replacement for the whole match or for the `secret` group.
    replacement: str
    has_secret_group: bool


@dataclass(frozen=True, slots=True)
class Policy:
    source: str
    allowed: re.Pattern[str]
    payload_attributes: tuple[PayloadAttributeRule, ...]
    payload_attribute_regexes: tuple[re.Pattern[str], ...]
    payload_events: tuple[PayloadEventRule, ...]
    patterns: tuple[Pattern, ...]
    # Matches a normalised key (see `is_secret_key`) ending in one of the `secret_keys` names.
    secret_keys: re.Pattern[str]
    # Strings at least this long under a key that is neither allowed nor content become payloads (0: never).
    free_text_payload_min_chars: int = 0

    def is_secret_key(self, key: str) -> bool:
        """Whether `key` names a secret: lower-cased, with `.`, `-` and spaces read as `_`, it ends in one of
        the `secret_keys` names (`db.password`, `X-Api-Key`; camelCase `clientSecret` too)."""
        return self.secret_keys.search(_normalised_key(key)) is not None

    def is_allowed(self, key: str) -> bool:
        return self.allowed.fullmatch(key) is not None

    def payload_rule(self, key: str) -> PayloadAttributeRule | None:
        for rule, regex in zip(self.payload_attributes, self.payload_attribute_regexes, strict=True):
            if regex.fullmatch(key):
                return rule
        return None

    def event_rule(self, event_name: str) -> PayloadEventRule | None:
        for rule in self.payload_events:
            if rule.regex.fullmatch(event_name):
                return rule
        return None


def load_policy(path: Path) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the redaction policy: {exc.strerror}") from exc
    return parse_policy(text, str(path))


@lru_cache(maxsize=8)
def cached_policy(path: str) -> Policy:
    return load_policy(Path(path))


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    try:
        root = yaml.compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise PolicyError(f"{source} line {line}: invalid YAML: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: invalid YAML: {exc}") from exc
    reader = _Reader(source)
    top = reader.mapping(
        root,
        "the policy",
        required={"version"},
        optional={
            "allowed_attributes",
            "payload_attributes",
            "payload_events",
            "secret_keys",
            "patterns",
            "free_text_payload_min_chars",
        },
    )
    version = reader.scalar(top["version"], "version")
    if version != "1":
        raise reader.error(top["version"], f"unsupported version {version!r} (this server reads version 1)")
    allowed = [reader.glob(node, "allowed_attributes entry") for node in reader.sequence(top.get("allowed_attributes"))]
    attribute_rules = [reader.payload_attribute(node) for node in reader.sequence(top.get("payload_attributes"))]
    event_rules = [reader.payload_event(node) for node in reader.sequence(top.get("payload_events"))]
    secret_keys = [reader.name(node, "secret_keys entry") for node in reader.sequence(top.get("secret_keys"))]
    patterns = [reader.pattern(node) for node in reader.sequence(top.get("patterns"))]
    names = [pattern.name for pattern in patterns]
    for node, pattern in zip(reader.sequence(top.get("patterns")), patterns, strict=True):
        if names.count(pattern.name) > 1:
            raise reader.error(node, f"pattern name {pattern.name!r} is used more than once")
    free_text = reader.free_text_threshold(top.get("free_text_payload_min_chars"))
    return Policy(
        source=source,
        free_text_payload_min_chars=free_text,
        allowed=_globs_regex(allowed),
        payload_attributes=tuple(attribute_rules),
        payload_attribute_regexes=tuple(re.compile(fnmatch.translate(rule.glob)) for rule in attribute_rules),
        payload_events=tuple(event_rules),
        patterns=tuple(patterns),
        secret_keys=_secret_keys_regex(secret_keys),
    )


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_KEY_SEPARATORS = str.maketrans({".": "_", "-": "_", " ": "_"})


def _normalised_key(key: str) -> str:
    # `clientSecret` -> `client_secret`, `X-Api-Key` -> `x_api_key`, `aws.secret_access_key` as it is.
    return _CAMEL_BOUNDARY.sub("_", key).lower().translate(_KEY_SEPARATORS)


def _secret_keys_regex(names: list[str]) -> re.Pattern[str]:
    if not names:
        return _NEVER
    alternatives = "|".join(re.escape(name) for name in sorted(set(names)))
    return re.compile(rf"(?:^|_)(?:{alternatives})$")


def _globs_regex(globs: list[str]) -> re.Pattern[str]:
    if not globs:
        return _NEVER
    return re.compile("|".join(f"(?:{fnmatch.translate(glob)})" for glob in globs))


class _Reader:
    """Turns composed YAML nodes into values, raising PolicyError with the node's line."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, node: yaml.Node | None, message: str) -> PolicyError:
        line = node.start_mark.line + 1 if node is not None else 1
        return PolicyError(f"{self.source} line {line}: {message}")

    def mapping(
        self, node: yaml.Node | None, what: str, required: set[str], optional: set[str] | None = None
    ) -> dict[str, yaml.Node]:
        optional = optional or set()
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping")
        values: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node, "key")
            if key not in required | optional:
                expected = ", ".join(sorted(required | optional))
                raise self.error(key_node, f"unknown key {key!r} in {what} (expected: {expected})")
            if key in values:
                raise self.error(key_node, f"duplicate key {key!r} in {what}")
            values[key] = value_node
        missing = sorted(required - values.keys())
        if missing:
            raise self.error(node, f"{what} is missing {', '.join(missing)}")
        return values

    def sequence(self, node: yaml.Node | None) -> list[yaml.Node]:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, "expected a list")
        return list(node.value)

    def scalar(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":null"):
            raise self.error(node, f"{what} must be a single value")
        return str(node.value)

    def boolean(self, node: yaml.Node | None, what: str) -> bool:
        if node is None:
            return False
        value = self.scalar(node, what).lower()
        if value not in ("true", "false"):
            raise self.error(node, f"{what} must be true or false")
        return value == "true"

    def free_text_threshold(self, node: yaml.Node | None) -> int:
        if node is None:
            return 0
        text = self.scalar(node, "free_text_payload_min_chars")
        if not text.isdigit() or (int(text) != 0 and int(text) < MIN_FREE_TEXT_CHARS):
            raise self.error(
                node, f"free_text_payload_min_chars must be 0 (off) or a whole number of at least {MIN_FREE_TEXT_CHARS}"
            )
        return int(text)

    def glob(self, node: yaml.Node, what: str) -> str:
        glob = self.scalar(node, what).strip()
        if not glob:
            raise self.error(node, f"{what} must not be empty")
        return glob

    def name(self, node: yaml.Node, what: str) -> str:
        name = self.scalar(node, what)
        if not _NAME.match(name):
            raise self.error(node, f"{what} {name!r} must be 1-48 characters of a-z, 0-9 and _")
        return name

    def payload_attribute(self, node: yaml.Node) -> PayloadAttributeRule:
        fields = self.mapping(node, "a payload_attributes entry", required={"key", "role"}, optional={"flattened"})
        glob = self.glob(fields["key"], "key")
        flattened = self.boolean(fields.get("flattened"), "flattened")
        role_text = self.scalar(fields["role"], "role")
        role = role_text if role_text == SUFFIX_ROLE else self.name(fields["role"], "role")
        needs_prefix = flattened or role == SUFFIX_ROLE
        prefix = glob[:-1]
        if needs_prefix and (not glob.endswith(".*") or any(c in prefix for c in "*?[")):
            raise self.error(
                fields["key"],
                f"key {glob!r} must be a literal prefix ending in '.*' for flattened keys and {{suffix}} roles",
            )
        return PayloadAttributeRule(glob=glob, role=role, flattened=flattened, prefix=prefix if needs_prefix else "")

    def payload_event(self, node: yaml.Node) -> PayloadEventRule:
        fields = self.mapping(node, "a payload_events entry", required={"event", "role", "content_attributes"})
        glob = self.glob(fields["event"], "event")
        keys = [self.glob(item, "content attribute") for item in self.sequence(fields["content_attributes"])]
        if not keys:
            raise self.error(fields["content_attributes"], "content_attributes must name at least one attribute")
        return PayloadEventRule(
            glob=glob,
            role=self.name(fields["role"], "role"),
            content_attributes=frozenset(keys),
            regex=re.compile(fnmatch.translate(glob)),
        )

    def pattern(self, node: yaml.Node) -> Pattern:
        fields = self.mapping(
            node,
            "a patterns entry",
            required={"name", "class", "regex"},
            optional={"hints", "hints_above_chars", "check", "min_digits"},
        )
        name = self.name(fields["name"], "pattern name")
        pattern_class = self.scalar(fields["class"], "class")
        if pattern_class not in PATTERN_CLASSES:
            raise self.error(fields["class"], f"class {pattern_class!r} must be one of {', '.join(PATTERN_CLASSES)}")
        source = self.scalar(fields["regex"], "regex")
        try:
            regex = re.compile(source)
        except re.error as exc:
            raise self.error(fields["regex"], f"pattern {name!r}: invalid regex: {exc}") from exc
        if regex.fullmatch(""):
            raise self.error(fields["regex"], f"pattern {name!r}: regex matches the empty string")
        hints = tuple(self.scalar(item, "hint") for item in self.sequence(fields.get("hints")))
        for hint_node, hint in zip(self.sequence(fields.get("hints")), hints, strict=True):
            if not hint or hint != hint.lower():
                raise self.error(hint_node, f"pattern {name!r}: hints must be non-empty and lower-case")
        above = self.scalar(fields["hints_above_chars"], "hints_above_chars") if "hints_above_chars" in fields else "0"
        if not above.isdigit():
            raise self.error(fields["hints_above_chars"], f"pattern {name!r}: hints_above_chars must be a whole number")
        check = self.scalar(fields["check"], "check") if "check" in fields else ""
        min_digits = self.scalar(fields["min_digits"], "min_digits") if "min_digits" in fields else "0"
        if not min_digits.isdigit():
            raise self.error(fields["min_digits"], f"pattern {name!r}: min_digits must be a whole number")
        if check and check not in _CHECKS:
            raise self.error(fields["check"], f"pattern {name!r}: unknown check {check!r} (known: luhn)")
        return Pattern(
            name=name,
            pattern_class=pattern_class,
            regex=regex,
            hints=hints,
            hints_above_chars=int(above),
            check=check,
            min_digits=int(min_digits),
            replacement=f"[REDACTED:{name}]",
            has_secret_group="secret" in regex.groupindex,
        )

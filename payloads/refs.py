"""The payload-ref convention, the one place it is spelled: how a span names the payloads taken out of it.

    tracefoundry.payload.<role>_ref  = "sha256:<64 lowercase hex>"   the content hash of the stored payload
    tracefoundry.payload.<role>_size = <bytes>                      its size before compression (optional)

`<role>` is 1 to 48 of `a-z 0-9 _` (input, output, messages, tool_args, tool_result, recording...). A `_ref`
key whose value is not `sha256:<64 lowercase hex>` is no ref (an ordinary attribute); a `_size` without its
`_ref` names nothing; `tracefoundry.payload.<role>` without a suffix is content (a policy may move it to the
payload store), never a ref. Capture, redaction, the API, bundles and dry replay read refs only through here;
the explorer mirrors it in frontend/src/lib/payload-refs.ts, and both are tested against
payloads/tests/fixtures/payload_refs.json. Pure: no ORM, no I/O.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from payloads.contracts import JsonValue

KEY_PREFIX = "tracefoundry.payload."
HASH_PREFIX = "sha256:"
_ROLE = re.compile(r"[a-z0-9_]{1,48}")
_OWN_KEY = re.compile(r"tracefoundry\.payload\.(?P<role>[a-z0-9_]{1,48})_(?P<what>ref|size)")
# Matched whole (fullmatch): `$` would let a trailing newline through.
_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class PayloadRef:
    role: str
    attribute: str
    sha256: str
    # From `_size`: None when absent or not a non-negative integer.
    size: int | None


def ref_key(role: str) -> str:
    return f"{KEY_PREFIX}{role}_ref"


def size_key(role: str) -> str:
    return f"{KEY_PREFIX}{role}_size"


def ref_value(sha256: str) -> str:
    """The value of a `_ref` attribute (and the `ref` the API shows) for a content hash."""
    return f"{HASH_PREFIX}{sha256}"


def is_role(text: str) -> bool:
    return _ROLE.fullmatch(text) is not None


def parse_key(key: str) -> tuple[str, str] | None:
    """(role, "ref" or "size") of one of our own keys; None for any other key."""
    match = _OWN_KEY.fullmatch(key)
    return (match["role"], match["what"]) if match else None


def ref_role(key: str) -> str | None:
    """The role of a `tracefoundry.payload.<role>_ref` key; None for any other key."""
    parsed = parse_key(key)
    return parsed[0] if parsed and parsed[1] == "ref" else None


def sha256_of_value(value: object) -> str | None:
    """The hex digest of a `_ref` value (`sha256:<64 lowercase hex>`); None if the value is not one."""
    if not isinstance(value, str) or not value.startswith(HASH_PREFIX):
        return None
    digest = value[len(HASH_PREFIX) :]
    return digest if _HEX.fullmatch(digest) else None


def parse_ref(ref: str) -> str:
    """The hex digest of a ref typed into a URL: `sha256:<hex>` or a bare digest, in either case. ValueError if
    it is neither."""
    digest = ref.removeprefix(HASH_PREFIX).lower()
    if not _HEX.fullmatch(digest):
        raise ValueError(f"not a payload ref (expected {HASH_PREFIX}<64 hex digits>)")
    return digest


def size_of(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else None


def refs_of(attributes: Mapping[str, JsonValue]) -> list[PayloadRef]:
    """Every payload ref among a span's (or an event's) attributes, in attribute order."""
    refs = []
    for key, value in attributes.items():
        role = ref_role(key)
        sha = sha256_of_value(value) if role else None
        if role and sha:
            refs.append(PayloadRef(role, key, sha, size_of(attributes.get(size_key(role)))))
    return refs

"""Content hashes and payload refs (`sha256:<64 lowercase hex>`). Pure."""

import hashlib
import re

REF_PREFIX = "sha256:"
_HEX = re.compile(r"^[0-9a-f]{64}$")


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def ref_of(sha256: str) -> str:
    return f"{REF_PREFIX}{sha256}"


def is_sha256(text: str) -> bool:
    return _HEX.match(text) is not None


def parse_ref(ref: str) -> str:
    """The hex digest of a ref; a bare 64-hex digest is accepted too. ValueError if it is neither."""
    digest = ref.removeprefix(REF_PREFIX).lower()
    if not is_sha256(digest):
        raise ValueError(f"not a payload ref (expected {REF_PREFIX}<64 hex digits>)")
    return digest

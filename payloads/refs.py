"""The payload-ref convention, the one place it is spelled: how a span names the payloads taken out of it.

    tracefoundry.payload.<role>_ref  = "ref:<64 lowercase hex>"      the public ref of the stored payload
    tracefoundry.payload.<role>_size = <bytes>                      its size before compression (optional)

Two forms name a payload. The content ref, `sha256:<hex>`, is the sha256 of the redacted content: blobs are
stored and deduplicated under it, SDKs compute it before uploading, and bundles that carry payloads use it so
their receiver can check every file against its name. The public ref, `ref:<hex>`, is that hash encrypted under
the server's key (AES-256, PAYLOAD_REF_KEY, by default derived from SECRET_KEY): spans carry it and the API shows
it, so nobody who reads spans without reading payloads can confirm a guess of a payload by hashing it (a tool
result "42" is one hash away from its sha256). It is deterministic (equal content, equal refs) and the server
turns it back into the content hash (`sha256_of_value`). Known limit: refs stored on spans open only under the
key they were made with; an `ref:` made by another server decrypts to a hash that matches nothing here.

`<role>` is 1 to 48 of `a-z 0-9 _` (input, output, messages, tool_args, tool_result, recording...). A `_ref`
key whose value is not `sha256:<64 lowercase hex>` is no ref (an ordinary attribute); a `_size` without its
`_ref` names nothing; `tracefoundry.payload.<role>` without a suffix is content (a policy may move it to the
payload store), never a ref. Capture, redaction, the API, bundles and dry replay read refs only through here;
the explorer mirrors it in frontend/src/lib/payload-refs.ts, and both are tested against
payloads/tests/fixtures/payload_refs.json. Pure: no ORM, no I/O (the key is read from the settings).
"""

import hashlib
import hmac
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes
from django.conf import settings

from payloads.contracts import JsonValue

KEY_PREFIX = "tracefoundry.payload."
HASH_PREFIX = "sha256:"
PUBLIC_PREFIX = "ref:"
_KEY_LABEL = b"tracefoundry payload refs v1"
_local = threading.local()
_ROLE = re.compile(r"[a-z0-9_]{1,48}")
_SIZE = re.compile(r"[0-9]{1,18}")
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
    """The content ref of a hash (`sha256:<hex>`): what SDKs send and bundles with payloads carry."""
    return f"{HASH_PREFIX}{sha256}"


def public_value(sha256: str) -> str:
    """The public ref of a content hash (`ref:<hex>`): the value spans carry and the `ref` the API shows."""
    encryptor, _ = _contexts()
    return PUBLIC_PREFIX + encryptor.update(bytes.fromhex(sha256)).hex()


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
    """The content hash a `_ref` value names (`sha256:<hex>`, or `ref:<hex>` decrypted); None if it is neither."""
    if not isinstance(value, str):
        return None
    public = value.startswith(PUBLIC_PREFIX)
    digest = value[len(PUBLIC_PREFIX) :] if public else value.removeprefix(HASH_PREFIX)
    if (not public and not value.startswith(HASH_PREFIX)) or not _HEX.fullmatch(digest):
        return None
    if not public:
        return digest
    _, decryptor = _contexts()
    return decryptor.update(bytes.fromhex(digest)).hex()


def is_content_value(value: object) -> bool:
    """Whether a `_ref` value is a content ref (`sha256:<hex>`), as SDKs and bundles with payloads send."""
    return isinstance(value, str) and value.startswith(HASH_PREFIX) and sha256_of_value(value) is not None


def parse_ref(ref: str) -> str:
    """The hex digest of a ref typed into a URL: `ref:<hex>` (decrypted), `sha256:<hex>` or a bare digest, in
    either case. ValueError if it is none of them."""
    text = ref.lower()
    if text.startswith(PUBLIC_PREFIX):
        sha = sha256_of_value(text)
        if sha is None:
            raise ValueError(f"not a payload ref (expected {PUBLIC_PREFIX}<64 hex digits>)")
        return sha
    digest = text.removeprefix(HASH_PREFIX)
    if not _HEX.fullmatch(digest):
        raise ValueError(f"not a payload ref (expected {PUBLIC_PREFIX}<64 hex digits>)")
    return digest


def _contexts() -> tuple[CipherContext, CipherContext]:
    """This thread's AES encryptor and decryptor under the configured key (contexts are not thread-safe)."""
    key = _key(settings.PAYLOAD_REF_KEY or settings.SECRET_KEY)
    cached = getattr(_local, "contexts", None)
    if cached is None or cached[0] != key:
        # ECB on a hash: each 16-byte block is uniformly random, so the mode shows nothing; the mapping must be
        # deterministic (equal content, equal refs), and one context serves every ref of the thread.
        cipher = Cipher(algorithms.AES(key), modes.ECB())  # noqa: S305 (deterministic by design, see above)
        cached = _local.contexts = (key, cipher.encryptor(), cipher.decryptor())
    return cached[1], cached[2]


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()


def size_of(value: object) -> int | None:
    # The sender's word: "²", a 5,000-digit string or a size past int64 is shown as unknown, never an error.
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value < 2**63 else None
    return int(value) if isinstance(value, str) and _SIZE.fullmatch(value) else None


def refs_of(attributes: Mapping[str, JsonValue]) -> list[PayloadRef]:
    """Every payload ref among a span's (or an event's) attributes, in attribute order."""
    refs = []
    for key, value in attributes.items():
        role = ref_role(key)
        sha = sha256_of_value(value) if role else None
        if role and sha:
            refs.append(PayloadRef(role, key, sha, size_of(attributes.get(size_key(role)))))
    return refs

"""Content hashes (sha256, lowercase hex). Pure. How a span names a hash is `payloads.refs`."""

import hashlib


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()

"""Where payload bytes live and how they are read back: in the blob's row (small blobs) or in a
django-storages backend (filesystem or S3), encoding, and verified reads.

Blobs are zstd-compressed when that makes them smaller. An encoded blob of at most PAYLOAD_INLINE_MAX_BYTES is
kept in its `payload_blobs` row (`inline_data`): one file or S3 object per small blob costs more to create
than the rest of ingest. Larger blobs go to the storage under `ab/cd/<sha256>` (sha256 of the redacted,
uncompressed content), so identical content is stored once and writing the same blob twice is harmless.
`read_content` is the one way to read a blob back, wherever its bytes are: it decompresses with the expected
size as a bound and checks the hash; a mismatch raises `CorruptPayload` and the bytes are never returned.

Known limits: nothing here deletes blobs (retention does: inline bytes go with their row, stored ones by key;
`payloads.orphans` removes bytes no row references);
the filesystem backend relies on an atomic rename, so PAYLOAD_DIR must be on one filesystem; changing
PAYLOAD_INLINE_MAX_BYTES moves no existing blob.
"""

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import IO, Any

import zstandard
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage

from payloads.hashing import sha256_hex
from payloads.models import Compression, PayloadBlob

# Below this size zstd's frame header makes compression pointless.
_MIN_COMPRESS_BYTES = 64
_ZSTD_LEVEL = 3
_local = threading.local()


class PayloadUnavailable(Exception):
    """The blob's bytes cannot be served: missing from the storage, or failing their integrity check."""


class CorruptPayload(PayloadUnavailable):
    pass


class MissingPayload(PayloadUnavailable):
    pass


@dataclass(frozen=True, slots=True)
class EncodedBlob:
    data: bytes
    compression: str


class ContentAddressedFileStorage(FileSystemStorage):
    """A FileSystemStorage writing through a temporary file and an atomic rename: a reader never sees a
    partly written blob, and two requests storing the same content at once both succeed."""

    def __init__(self, location: str) -> None:
        super().__init__(location=location, allow_overwrite=True)

    def _save(self, name: str, content: Any) -> str:
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        os.makedirs(directory, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".incoming-")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                for chunk in content.chunks():
                    handle.write(chunk)
            os.replace(temporary, full_path)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        return name


def storage_key(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def payload_storage() -> Storage:
    """The configured backend (settings are read on every call, so tests and reconfiguration take effect)."""
    if settings.PAYLOAD_STORAGE == "s3":
        return _s3_storage(
            settings.AWS_STORAGE_BUCKET_NAME,
            settings.AWS_S3_ENDPOINT_URL,
            settings.AWS_ACCESS_KEY_ID,
            settings.AWS_SECRET_ACCESS_KEY,
            settings.AWS_S3_REGION_NAME,
        )
    return _filesystem_storage(str(settings.PAYLOAD_DIR))


@lru_cache(maxsize=4)
def _filesystem_storage(location: str) -> Storage:
    return ContentAddressedFileStorage(location)


@lru_cache(maxsize=4)
def _s3_storage(
    bucket: str, endpoint_url: str | None, access_key: str | None, secret_key: str | None, region: str | None
) -> Storage:
    from storages.backends.s3 import S3Storage

    return S3Storage(
        bucket_name=bucket,
        endpoint_url=endpoint_url,
        access_key=access_key,
        secret_key=secret_key,
        region_name=region,
        file_overwrite=True,
        default_acl=None,
        querystring_auth=False,
    )


def encode(content: bytes) -> EncodedBlob:
    if len(content) >= _MIN_COMPRESS_BYTES:
        compressed = _compressor().compress(content)
        if len(compressed) < len(content):
            return EncodedBlob(compressed, Compression.ZSTD)
    return EncodedBlob(content, Compression.NONE)


def fits_inline(encoded_size: int) -> bool:
    """Whether a blob of this many encoded bytes is kept in its row rather than in the payload storage."""
    limit: int = settings.PAYLOAD_INLINE_MAX_BYTES
    return limit > 0 and encoded_size <= limit


def read_content(blob: PayloadBlob) -> bytes:
    """The verified content of a blob, from its row or from the payload storage. CorruptPayload when its bytes
    do not decode to content of its hash, MissingPayload when the storage has no bytes under its key."""
    if blob.inline_data is not None:
        # Postgres hands bytea back as a memoryview.
        data = bytes(blob.inline_data)
    else:
        data = _read_stored(payload_storage(), blob.storage_key, blob.sha256)
    return _decode(data, blob.compression, blob.size_bytes, blob.sha256)


def _decode(data: bytes, compression: str, size_bytes: int, sha256: str) -> bytes:
    """The original content, or CorruptPayload when the bytes do not decode to content of that hash."""
    if compression == Compression.ZSTD:
        try:
            content = zstandard.ZstdDecompressor().decompress(data, max_output_size=size_bytes)
        except zstandard.ZstdError as exc:
            raise CorruptPayload(f"payload sha256:{sha256} is corrupted: it does not decompress") from exc
    else:
        content = data
    if len(content) != size_bytes or sha256_hex(content) != sha256:
        raise CorruptPayload(f"payload sha256:{sha256} is corrupted: its content does not match its hash")
    return content


def write(storage: Storage, key: str, data: bytes) -> None:
    storage.save(key, ContentFile(data))


def stored_objects(older_than: datetime) -> Iterator[str]:
    """The keys of every object in the payload storage last written before `older_than` (blobs and the
    temporary files of interrupted writes alike)."""
    backend = payload_storage()
    if isinstance(backend, FileSystemStorage):
        root = backend.location
        cutoff = older_than.timestamp()
        for directory, _, files in os.walk(root):
            for name in files:
                path = os.path.join(directory, name)
                with suppress(FileNotFoundError):
                    if os.stat(path).st_mtime < cutoff:
                        yield os.path.relpath(path, root).replace(os.sep, "/")
        return
    bucket = backend.bucket  # type: ignore[attr-defined]
    prefix = backend.location  # type: ignore[attr-defined]
    for item in bucket.objects.filter(Prefix=f"{prefix}/" if prefix else ""):
        if item.last_modified.astimezone(UTC) < older_than:
            yield item.key.removeprefix(f"{prefix}/") if prefix else item.key


def _read_stored(storage: Storage, key: str, sha256: str) -> bytes:
    try:
        with storage.open(key, "rb") as handle:
            stream: IO[bytes] = handle
            return stream.read()
    except FileNotFoundError as exc:
        raise MissingPayload(f"payload sha256:{sha256} is missing from the payload storage") from exc
    except OSError as exc:
        raise MissingPayload(f"payload sha256:{sha256} cannot be read from the payload storage") from exc


def _compressor() -> zstandard.ZstdCompressor:
    # A ZstdCompressor must not be shared between threads; blobs are written from a thread pool.
    compressor = getattr(_local, "compressor", None)
    if compressor is None:
        compressor = _local.compressor = zstandard.ZstdCompressor(level=_ZSTD_LEVEL, write_content_size=True)
    return compressor

"""Payload storage: round trips inline in the database, on the filesystem and on a real S3 server, the inline
size limit, dedup, zstd, integrity wherever the bytes are."""

import random
from pathlib import Path

import pytest
import zstandard
from django.conf import settings
from django.db import IntegrityError, transaction

from payloads import queries, storage
from payloads.ingest import store_payload
from payloads.models import Compression, PayloadBlob
from payloads.storage import CorruptPayload, MissingPayload

LONG_TEXT = "The agent called the weather tool for Paris, then summarised the answer. " * 40


def _words(count: int) -> str:
    """Text of made-up words (letters only, so no redaction pattern matches) that zstd shrinks only ~2x."""
    rng = random.Random(4)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return " ".join("".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(count))


def _files() -> list[Path]:
    return [path for path in settings.PAYLOAD_DIR.rglob("*") if path.is_file()]


@pytest.fixture
def to_storage(settings) -> None:
    """Every blob goes to the payload storage, none inline."""
    settings.PAYLOAD_INLINE_MAX_BYTES = 0


# --- inline in the database ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_inline_round_trip_keeps_the_compressed_bytes_in_the_row_and_writes_no_file() -> None:
    stored = store_payload(LONG_TEXT.encode(), "text/plain; charset=utf-8")

    blob = PayloadBlob.objects.get(sha256=stored.sha256)
    assert blob.inline_data is not None
    assert (blob.storage_key, blob.compression) == ("", Compression.ZSTD)
    assert blob.stored_size_bytes == len(blob.inline_data) < blob.size_bytes == len(LONG_TEXT.encode())
    assert zstandard.ZstdDecompressor().decompress(bytes(blob.inline_data)) == LONG_TEXT.encode()
    assert _files() == []
    assert queries.payload_content(stored.sha256).content == LONG_TEXT


@pytest.mark.django_db
def test_inline_blob_writes_no_s3_object(s3_bucket: str, s3_client) -> None:
    stored = store_payload(LONG_TEXT.encode(), "text/plain")

    assert s3_client.list_objects_v2(Bucket=s3_bucket).get("Contents", []) == []
    assert PayloadBlob.objects.get(sha256=stored.sha256).storage_key == ""
    assert queries.payload_content(stored.sha256).content == LONG_TEXT


@pytest.mark.django_db
def test_a_blob_of_exactly_the_limit_once_encoded_is_kept_inline(settings) -> None:
    encoded_size = len(storage.encode(LONG_TEXT.encode()).data)
    settings.PAYLOAD_INLINE_MAX_BYTES = encoded_size

    stored = store_payload(LONG_TEXT.encode(), "text/plain")

    blob = PayloadBlob.objects.get(sha256=stored.sha256)
    assert encoded_size < len(LONG_TEXT)
    assert (blob.stored_size_bytes, blob.storage_key, _files()) == (encoded_size, "", [])
    assert queries.payload_content(stored.sha256).content == LONG_TEXT


@pytest.mark.django_db
def test_a_blob_one_byte_over_the_limit_once_encoded_goes_to_the_storage(settings) -> None:
    encoded_size = len(storage.encode(LONG_TEXT.encode()).data)
    settings.PAYLOAD_INLINE_MAX_BYTES = encoded_size - 1

    stored = store_payload(LONG_TEXT.encode(), "text/plain")

    blob = PayloadBlob.objects.get(sha256=stored.sha256)
    assert (blob.stored_size_bytes, blob.inline_data, blob.storage_key) == (
        encoded_size,
        None,
        storage.storage_key(stored.sha256),
    )
    assert [path.name for path in _files()] == [stored.sha256]
    assert queries.payload_content(stored.sha256).content == LONG_TEXT


@pytest.mark.django_db
def test_small_payload_is_stored_uncompressed() -> None:
    stored = store_payload(b"hi there", "text/plain")

    blob = PayloadBlob.objects.get(sha256=stored.sha256)
    assert (blob.compression, blob.stored_size_bytes, blob.size_bytes) == (Compression.NONE, 8, 8)
    assert blob.inline_data is not None
    assert bytes(blob.inline_data) == b"hi there"
    assert queries.payload_content(stored.sha256).content == "hi there"


@pytest.mark.django_db
def test_zero_sends_even_the_smallest_blob_to_the_storage(to_storage: None) -> None:
    stored = store_payload(b"hi", "text/plain")

    blob = PayloadBlob.objects.get(sha256=stored.sha256)
    assert (blob.inline_data, blob.storage_key) == (None, storage.storage_key(stored.sha256))
    assert [path.name for path in _files()] == [stored.sha256]
    assert queries.payload_content(stored.sha256).content == "hi"


@pytest.mark.django_db
def test_a_blob_over_the_default_limit_goes_to_the_storage() -> None:
    text = _words(6000)
    stored = store_payload(text.encode(), "text/plain")

    blob = PayloadBlob.objects.get(sha256=stored.sha256)
    assert blob.stored_size_bytes > settings.PAYLOAD_INLINE_MAX_BYTES == 16384
    assert (blob.inline_data, blob.storage_key) == (None, storage.storage_key(stored.sha256))
    assert [path.name for path in _files()] == [stored.sha256]
    assert queries.payload_content(stored.sha256).content == text


@pytest.mark.django_db
def test_tampered_inline_bytes_are_reported_not_served() -> None:
    stored = store_payload(LONG_TEXT.encode(), "text/plain")
    tampered = LONG_TEXT.replace("Paris", "Paros").encode()
    PayloadBlob.objects.filter(sha256=stored.sha256).update(inline_data=zstandard.ZstdCompressor().compress(tampered))

    with pytest.raises(CorruptPayload, match="does not match its hash"):
        queries.payload_content(stored.sha256)


@pytest.mark.django_db
def test_undecodable_inline_bytes_are_reported() -> None:
    stored = store_payload(LONG_TEXT.encode(), "text/plain")
    PayloadBlob.objects.filter(sha256=stored.sha256).update(inline_data=b"not a zstd frame at all")

    with pytest.raises(CorruptPayload, match="does not decompress"):
        queries.payload_content(stored.sha256)


@pytest.mark.django_db
def test_a_blob_has_its_bytes_in_exactly_one_place() -> None:
    stored = store_payload(LONG_TEXT.encode(), "text/plain")

    with pytest.raises(IntegrityError), transaction.atomic():
        PayloadBlob.objects.filter(sha256=stored.sha256).update(storage_key=storage.storage_key(stored.sha256))
    with pytest.raises(IntegrityError), transaction.atomic():
        PayloadBlob.objects.filter(sha256=stored.sha256).update(inline_data=None)


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["A" * 64, "a" * 63, "a" * 63 + "g", "a" * 63 + "\n"])
def test_a_blob_key_is_64_lowercase_hex_digits(key: str) -> None:
    with pytest.raises(IntegrityError):
        PayloadBlob.objects.create(
            sha256=key, size_bytes=1, stored_size_bytes=1, compression="none", inline_data=b"x", storage_key=""
        )


# --- in the payload storage (filesystem, S3) ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("to_storage")
def test_filesystem_round_trip_shards_by_hash_and_compresses() -> None:
    stored = store_payload(LONG_TEXT.encode(), "text/plain; charset=utf-8")

    blob = PayloadBlob.objects.get(sha256=stored.sha256)
    path = settings.PAYLOAD_DIR / stored.sha256[:2] / stored.sha256[2:4] / stored.sha256
    assert blob.storage_key == f"{stored.sha256[:2]}/{stored.sha256[2:4]}/{stored.sha256}"
    assert blob.compression == Compression.ZSTD
    assert blob.stored_size_bytes == path.stat().st_size < blob.size_bytes == len(LONG_TEXT.encode())
    assert zstandard.ZstdDecompressor().decompress(path.read_bytes()) == LONG_TEXT.encode()
    assert queries.payload_content(stored.sha256).content == LONG_TEXT


@pytest.mark.django_db
@pytest.mark.usefixtures("to_storage")
def test_identical_content_is_stored_once() -> None:
    first = store_payload(LONG_TEXT.encode(), "text/plain")
    second = store_payload(LONG_TEXT.encode(), "text/plain")

    assert first.sha256 == second.sha256
    assert PayloadBlob.objects.count() == 1
    assert [path.name for path in _files()] == [first.sha256]


@pytest.mark.django_db
@pytest.mark.usefixtures("to_storage")
def test_corrupted_blob_is_reported_not_served() -> None:
    stored = store_payload(LONG_TEXT.encode(), "text/plain")
    path = settings.PAYLOAD_DIR / storage.storage_key(stored.sha256)
    tampered = LONG_TEXT.replace("Paris", "Paros").encode()
    path.write_bytes(zstandard.ZstdCompressor().compress(tampered))

    with pytest.raises(CorruptPayload, match="does not match its hash"):
        queries.payload_content(stored.sha256)


@pytest.mark.django_db
@pytest.mark.usefixtures("to_storage")
def test_undecodable_blob_is_reported() -> None:
    stored = store_payload(LONG_TEXT.encode(), "text/plain")
    (settings.PAYLOAD_DIR / storage.storage_key(stored.sha256)).write_bytes(b"not a zstd frame at all")

    with pytest.raises(CorruptPayload, match="does not decompress"):
        queries.payload_content(stored.sha256)


@pytest.mark.django_db
@pytest.mark.usefixtures("to_storage")
def test_missing_blob_is_reported() -> None:
    stored = store_payload(LONG_TEXT.encode(), "text/plain")
    (settings.PAYLOAD_DIR / storage.storage_key(stored.sha256)).unlink()

    with pytest.raises(MissingPayload, match="missing"):
        queries.payload_content(stored.sha256)


@pytest.mark.django_db
@pytest.mark.usefixtures("to_storage")
def test_s3_round_trip_dedup_and_corruption(s3_bucket: str, s3_client) -> None:
    first = store_payload(LONG_TEXT.encode(), "text/plain")
    second = store_payload(LONG_TEXT.encode(), "text/plain")
    key = storage.storage_key(first.sha256)

    listed = [item["Key"] for item in s3_client.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    raw = s3_client.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
    assert second.sha256 == first.sha256
    assert listed == [key]
    assert zstandard.ZstdDecompressor().decompress(raw) == LONG_TEXT.encode()
    assert queries.payload_content(first.sha256).content == LONG_TEXT

    s3_client.put_object(Bucket=s3_bucket, Key=key, Body=b"tampered")
    with pytest.raises(CorruptPayload):
        queries.payload_content(first.sha256)


@pytest.mark.django_db
@pytest.mark.usefixtures("to_storage")
def test_s3_missing_object_is_reported(s3_bucket: str, s3_client) -> None:
    stored = store_payload(LONG_TEXT.encode(), "text/plain")
    s3_client.delete_object(Bucket=s3_bucket, Key=storage.storage_key(stored.sha256))

    with pytest.raises(MissingPayload):
        queries.payload_content(stored.sha256)

"""Payload storage: round trips on the filesystem and on a real S3 server, dedup, zstd, integrity."""

import pytest
import zstandard
from django.conf import settings

from payloads import queries, storage
from payloads.ingest import store_payload
from payloads.models import Compression, PayloadBlob
from payloads.storage import CorruptPayload, MissingPayload

LONG_TEXT = "The agent called the weather tool for Paris, then summarised the answer. " * 40


@pytest.mark.django_db
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
def test_small_payload_is_stored_uncompressed() -> None:
    stored = store_payload(b"hi there", "text/plain")

    blob = PayloadBlob.objects.get(sha256=stored.sha256)
    assert (blob.compression, blob.stored_size_bytes, blob.size_bytes) == (Compression.NONE, 8, 8)
    assert queries.payload_content(stored.sha256).content == "hi there"


@pytest.mark.django_db
def test_identical_content_is_stored_once() -> None:
    first = store_payload(LONG_TEXT.encode(), "text/plain")
    second = store_payload(LONG_TEXT.encode(), "text/plain")

    assert first.sha256 == second.sha256
    assert PayloadBlob.objects.count() == 1
    assert [p.name for p in settings.PAYLOAD_DIR.rglob("*") if p.is_file()] == [first.sha256]


@pytest.mark.django_db
def test_corrupted_blob_is_reported_not_served() -> None:
    stored = store_payload(LONG_TEXT.encode(), "text/plain")
    path = settings.PAYLOAD_DIR / storage.storage_key(stored.sha256)
    tampered = LONG_TEXT.replace("Paris", "Paros").encode()
    path.write_bytes(zstandard.ZstdCompressor().compress(tampered))

    with pytest.raises(CorruptPayload, match="does not match its hash"):
        queries.payload_content(stored.sha256)


@pytest.mark.django_db
def test_undecodable_blob_is_reported() -> None:
    stored = store_payload(LONG_TEXT.encode(), "text/plain")
    (settings.PAYLOAD_DIR / storage.storage_key(stored.sha256)).write_bytes(b"not a zstd frame at all")

    with pytest.raises(CorruptPayload, match="does not decompress"):
        queries.payload_content(stored.sha256)


@pytest.mark.django_db
def test_missing_blob_is_reported() -> None:
    stored = store_payload(LONG_TEXT.encode(), "text/plain")
    (settings.PAYLOAD_DIR / storage.storage_key(stored.sha256)).unlink()

    with pytest.raises(MissingPayload, match="missing"):
        queries.payload_content(stored.sha256)


@pytest.mark.django_db
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
def test_s3_missing_object_is_reported(s3_bucket: str, s3_client) -> None:
    stored = store_payload(LONG_TEXT.encode(), "text/plain")
    s3_client.delete_object(Bucket=s3_bucket, Key=storage.storage_key(stored.sha256))

    with pytest.raises(MissingPayload):
        queries.payload_content(stored.sha256)

"""`POST /api/payloads` (ingest key) and `GET /api/payloads/{ref}` (engineer and admin only)."""

import json

import pytest
from django.test import Client

from payloads import storage
from payloads.hashing import sha256_hex
from payloads.models import PayloadBlob
from payloads.refs import public_value

SECRET = "sk-proj-T3stOnlyFakeKey0123456789abcdefXYZ"
CONTENT = json.dumps([{"role": "user", "content": f"use key {SECRET} please"}])
REDACTED = CONTENT.replace(SECRET, "[REDACTED:openai_api_key]")


def _upload(client: Client, key: str, body: str = CONTENT, content_type: str = "application/json"):
    return client.post("/api/payloads", body, content_type=content_type, headers={"Authorization": f"Bearer {key}"})


@pytest.mark.django_db
def test_upload_redacts_on_the_server_and_returns_the_ref(client: Client, ingest_key: str) -> None:
    response = _upload(client, ingest_key)

    digest = sha256_hex(REDACTED.encode())
    assert response.status_code == 201
    assert response.json() == {
        "ref": f"sha256:{digest}",
        "sha256": digest,
        "size_bytes": len(REDACTED.encode()),
        "content_type": "application/json",
        "redaction_mode": "standard",
        "redacted": True,
    }
    assert PayloadBlob.objects.get().sha256 == digest


@pytest.mark.django_db
def test_upload_of_text_under_off_keeps_it(client: Client, ingest_key: str, settings) -> None:
    settings.REDACTION_MODE = "off"
    response = _upload(client, ingest_key, body=f"plain {SECRET}", content_type="text/plain; charset=utf-8")

    assert response.status_code == 201
    assert (response.json()["content_type"], response.json()["redacted"]) == (
        "text/plain; charset=utf-8",
        False,
    )
    assert response.json()["sha256"] == sha256_hex(f"plain {SECRET}".encode())


@pytest.mark.django_db
def test_upload_needs_an_ingest_key_not_a_login(client: Client, engineer) -> None:
    client.force_login(engineer)

    assert client.post("/api/payloads", CONTENT, content_type="application/json").status_code == 401
    assert _upload(client, "not-a-key").status_code == 401
    assert PayloadBlob.objects.count() == 0


@pytest.mark.django_db
def test_upload_limits(client: Client, ingest_key: str, settings) -> None:
    settings.PAYLOAD_MAX_BYTES = 16

    assert _upload(client, ingest_key, body="x" * 17, content_type="text/plain").status_code == 413
    assert _upload(client, ingest_key, body="{}", content_type="application/xml").status_code == 415
    assert _upload(client, ingest_key, body="not json", content_type="application/json").status_code == 400
    assert PayloadBlob.objects.count() == 0


@pytest.mark.django_db
def test_engineer_reads_the_redacted_content(client: Client, ingest_key: str, engineer) -> None:
    # The upload answers with the content ref (the uploader knows the content); spans show the public ref.
    sha256 = _upload(client, ingest_key).json()["ref"].removeprefix("sha256:")
    client.force_login(engineer)

    response = client.get(f"/api/payloads/{public_value(sha256)}")

    assert response.status_code == 200
    assert client.get(f"/api/payloads/sha256:{sha256}").json() == response.json()
    assert response.json() == {
        "ref": public_value(sha256),
        "sha256": sha256,
        "content_type": "application/json",
        "size_bytes": len(REDACTED.encode()),
        "redaction_mode": "standard",
        "content": REDACTED,
    }


@pytest.mark.django_db
def test_viewer_and_outsider_get_403_without_content(client: Client, ingest_key: str, viewer, outsider) -> None:
    ref = _upload(client, ingest_key).json()["ref"]

    client.force_login(viewer)
    as_viewer = client.get(f"/api/payloads/{ref}")
    client.force_login(outsider)
    as_outsider = client.get(f"/api/payloads/{ref}")

    assert (as_viewer.status_code, as_outsider.status_code) == (403, 403)
    assert "REDACTED" not in as_viewer.content.decode() + as_outsider.content.decode()
    assert "please" not in as_viewer.content.decode() + as_outsider.content.decode()


@pytest.mark.django_db
def test_anonymous_gets_401(client: Client) -> None:
    assert client.get(f"/api/payloads/sha256:{'a' * 64}").status_code == 401


@pytest.mark.django_db
def test_unknown_and_malformed_refs(client: Client, admin_user) -> None:
    client.force_login(admin_user)

    assert client.get(f"/api/payloads/sha256:{'a' * 64}").status_code == 404
    malformed = client.get("/api/payloads/sha256:xyz")
    assert (malformed.status_code, malformed.json()["parameter"]) == (400, "ref")


@pytest.mark.django_db
def test_corrupted_stored_blob_gets_500_with_a_clear_message_and_no_content(
    client: Client, ingest_key: str, engineer, settings
) -> None:
    settings.PAYLOAD_INLINE_MAX_BYTES = 0
    ref = _upload(client, ingest_key).json()["ref"]
    sha = ref.removeprefix("sha256:")
    (settings.PAYLOAD_DIR / storage.storage_key(sha)).write_bytes(REDACTED.replace("please", "pleasE").encode())
    client.force_login(engineer)

    response = client.get(f"/api/payloads/{ref}")

    assert response.status_code == 500
    assert response.json() == {"detail": f"payload {ref} is corrupted: its content does not match its hash"}
    assert "pleasE" not in response.content.decode()


@pytest.mark.django_db
def test_corrupted_inline_blob_gets_500_with_a_clear_message_and_no_content(
    client: Client, ingest_key: str, engineer
) -> None:
    ref = _upload(client, ingest_key).json()["ref"]
    blob = PayloadBlob.objects.filter(sha256=ref.removeprefix("sha256:"))
    assert blob.get().compression == "none"
    blob.update(inline_data=REDACTED.replace("please", "pleasE").encode())
    client.force_login(engineer)

    response = client.get(f"/api/payloads/{ref}")

    assert response.status_code == 500
    assert response.json() == {"detail": f"payload {ref} is corrupted: its content does not match its hash"}
    assert "pleasE" not in response.content.decode()

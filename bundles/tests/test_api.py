"""The bundles API: who may export, import and dry-replay what; every refused import stores nothing."""

import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from bundles.exports import export_trace
from bundles.tests.factories import files_of, manifest_of, raw_zip, rebuilt, store_trace, with_manifest_change
from payloads.models import PayloadBlob, SpanPayloadRef
from testing.factories import agent_trace
from traces.models import Span, Trace

pytestmark = pytest.mark.django_db

EMAIL = "dana.fischer@example.org"


def _client(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _stored_trace() -> str:
    specs = agent_trace()
    specs[1].attributes["gen_ai.input.messages"] = f'[{{"role": "user", "content": "mail {EMAIL}"}}]'
    specs[2].attributes["gen_ai.tool.call.result"] = "42"
    return store_trace(specs)


@pytest.fixture
def bundle(settings, tmp_path: Path) -> bytes:
    """A bundle with payloads, exported from an installation then emptied (rows and payload folder)."""
    exported = export_trace(_stored_trace(), include_payloads=True, redaction="standard").content
    SpanPayloadRef.objects.all().delete()
    Trace.objects.all().delete()
    PayloadBlob.objects.all().delete()
    settings.PAYLOAD_DIR = tmp_path / "fresh-payloads"
    return exported


def _upload(client: APIClient, bundle: bytes, name: str = "bundle.zip"):
    return client.post("/api/bundles/import", {"bundle": io.BytesIO(bundle)}, format="multipart")


def _stored_counts() -> tuple[int, ...]:
    files = sum(1 for path in Path(django_settings.PAYLOAD_DIR).rglob("*") if path.is_file())
    return (
        Trace.objects.count(),
        Span.objects.count(),
        PayloadBlob.objects.count(),
        SpanPayloadRef.objects.count(),
        files,
    )


# --- export -------------------------------------------------------------------------------------------------


def _user(request: pytest.FixtureRequest, role: str) -> User:
    user: User = request.getfixturevalue({"admin": "admin_user"}.get(role, role))
    return user


@pytest.mark.parametrize(
    ("role", "include_payloads", "redaction"),
    [
        ("viewer", False, "strict"),
        ("engineer", False, "strict"),
        ("engineer", False, "standard"),
        ("engineer", True, "standard"),
        ("admin", True, "standard"),
        ("admin", False, "off"),
        ("admin", True, "off"),
    ],
)
def test_export_options_a_role_may_use(
    request: pytest.FixtureRequest, role: str, include_payloads: bool, redaction: str
) -> None:
    trace_id = _stored_trace()

    response = _client(_user(request, role)).post(
        f"/api/traces/{trace_id}/export",
        {"include_payloads": include_payloads, "redaction": redaction},
        format="json",
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f'filename="trace-{trace_id}-{redaction}.tfbundle.zip"' in response["Content-Disposition"]
    manifest = manifest_of(response.content)
    assert manifest["redaction"] == redaction
    assert manifest["payloads_included"] is include_payloads
    assert len([path for path in files_of(response.content) if path.startswith("payloads/")]) == (2 * include_payloads)


@pytest.mark.parametrize("role", ["engineer", "admin"])
def test_payloads_under_strict_redaction_are_400_naming_why(request: pytest.FixtureRequest, role: str) -> None:
    trace_id = _stored_trace()

    response = _client(_user(request, role)).post(
        f"/api/traces/{trace_id}/export", {"include_payloads": True, "redaction": "strict"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "detail": "include_payloads: strict exports carry no payloads: "
        "ask for redaction standard (or off) to include them",
        "parameter": "include_payloads",
    }


@pytest.mark.parametrize(
    ("role", "include_payloads", "redaction"),
    [
        ("viewer", True, "strict"),
        ("viewer", False, "standard"),
        ("viewer", True, "standard"),
        ("viewer", False, "off"),
        ("engineer", True, "off"),
        ("engineer", False, "off"),
        ("outsider", False, "strict"),
    ],
)
def test_export_options_a_role_may_not_use(
    request: pytest.FixtureRequest, role: str, include_payloads: bool, redaction: str
) -> None:
    trace_id = _stored_trace()

    response = _client(_user(request, role)).post(
        f"/api/traces/{trace_id}/export",
        {"include_payloads": include_payloads, "redaction": redaction},
        format="json",
    )

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"


def test_export_defaults_to_strict_without_payloads(viewer: User) -> None:
    response = _client(viewer).post(f"/api/traces/{_stored_trace()}/export", {}, format="json")

    assert response.status_code == 200
    assert manifest_of(response.content)["redaction"] == "strict"
    assert manifest_of(response.content)["payloads_included"] is False


def test_export_of_an_unknown_trace_is_404_and_a_bad_mode_400(admin_user: User) -> None:
    client = _client(admin_user)

    assert client.post(f"/api/traces/{'e' * 32}/export", {}, format="json").status_code == 404
    bad = client.post(f"/api/traces/{_stored_trace()}/export", {"redaction": "none"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["parameter"] == "redaction"


def test_anonymous_callers_get_nothing() -> None:
    trace_id = _stored_trace()
    client = _client(None)

    assert client.post(f"/api/traces/{trace_id}/export", {}, format="json").status_code in (401, 403)
    assert client.post(f"/api/traces/{trace_id}/dry-replay", {}, format="json").status_code in (401, 403)
    assert _upload(client, b"x").status_code in (401, 403)


# --- import -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["engineer", "admin"])
def test_engineers_and_admins_import(request: pytest.FixtureRequest, role: str, bundle: bytes) -> None:
    trace_id = manifest_of(bundle)["trace_id"]

    first = _upload(_client(_user(request, role)), bundle)
    second = _upload(_client(_user(request, role)), bundle)

    assert first.status_code == 201
    assert first.json() == {
        "trace_id": trace_id,
        "span_count": 4,
        "payload_count": 2,
        "created": True,
        "redaction": "standard",
        "payloads_included": True,
        "original_trace_id": trace_id,
    }
    assert second.status_code == 200
    assert second.json()["created"] is False
    assert Trace.objects.get().source == "bundle_import"


def test_viewers_may_not_import(viewer: User, bundle: bytes) -> None:

    response = _upload(_client(viewer), bundle)

    assert response.status_code == 403
    assert _stored_counts() == (0, 0, 0, 0, 0)


def _tamper_spans(files: dict[str, bytes]) -> None:
    files["spans.otlp.json"] = files["spans.otlp.json"].replace(b"invoke_agent", b"invoke_agenT")


def _tamper_payload(files: dict[str, bytes]) -> None:
    path = next(path for path in files if path.startswith("payloads/"))
    files[path] = files[path] + b" "


def _misname_payload(files: dict[str, bytes]) -> None:
    path = next(path for path in files if path.startswith("payloads/"))
    files["payloads/" + "0" * 64] = files.pop(path)


def _other_trace_id(files: dict[str, bytes]) -> None:
    manifest = json.loads(files["manifest.json"])
    manifest["trace_id"] = "f" * 32
    files["manifest.json"] = json.dumps(manifest).encode()


def _drop_spans(files: dict[str, bytes]) -> None:
    del files["spans.otlp.json"]


def _add_file(files: dict[str, bytes]) -> None:
    files["payloads/" + "1" * 64] = b"unlisted"


REFUSALS = [
    (
        lambda b: rebuilt(b, _tamper_spans),
        r"spans\.otlp\.json: sha256 [0-9a-f]{64} does not match the manifest's",
    ),
    (
        lambda b: rebuilt(b, _tamper_payload),
        r"payloads/[0-9a-f]{64}: content hashes to [0-9a-f]{64}, not to its name",
    ),
    (lambda b: rebuilt(b, _misname_payload, rehash=True), r"payloads/0{64}: content hashes to"),
    (lambda b: rebuilt(b, _other_trace_id), r"holds trace id\(s\) [0-9a-f]{32}, not the manifest's f{32}"),
    (lambda b: rebuilt(b, _drop_spans), r"bundle has no spans\.otlp\.json"),
    (lambda b: rebuilt(b, _add_file), r"payloads/1{64} is in the bundle but not listed in the manifest"),
    (lambda b: with_manifest_change(b, format_version=99), "unknown format_version 99"),
    (lambda b: with_manifest_change(b, redaction="strict"), "manifest.json: strict exports carry no payloads"),
    (lambda b: with_manifest_change(b, span_count=3), "holds 4 spans, the manifest says 3"),
    (
        lambda b: raw_zip([*((n, d) for n, d in files_of(b).items()), ("../../etc/cron.d/x", b"x")]),
        "points outside the bundle",
    ),
    (lambda b: raw_zip([*((n, d) for n, d in files_of(b).items()), ("/var/x", b"x")]), "is absolute"),
    (
        lambda b: raw_zip([*((n, d) for n, d in files_of(b).items()), ("manifest.json", b"{}")]),
        "duplicate file name in bundle: 'manifest.json'",
    ),
    (
        lambda b: raw_zip([*((n, d) for n, d in files_of(b).items()), ("evil.py", b"x")]),
        "unexpected file in bundle: 'evil.py'",
    ),
    (
        lambda b: raw_zip([("manifest.json", files_of(b)["manifest.json"]), ("spans.otlp.json", b" " * 30_000_000)]),
        r"compressed \d+:1, past the limit of 200:1",
    ),
    (lambda b: b"PK\x03\x04 not a zip", "upload is not a zip file"),
]


@pytest.mark.parametrize(("make", "message"), REFUSALS)
def test_refused_bundles_are_400_naming_the_problem_and_store_nothing(
    engineer: User,
    bundle: bytes,
    make: Callable[[bytes], bytes],
    message: str,
) -> None:
    bad = make(bundle)
    before = _stored_counts()

    response = _upload(_client(engineer), bad)

    assert response.status_code == 400
    assert re.search(message, response.json()["detail"])
    assert _stored_counts() == before == (0, 0, 0, 0, 0)


def test_uploads_over_the_size_limit_are_refused(settings, engineer: User, bundle: bytes) -> None:
    settings.BUNDLE_MAX_UPLOAD_BYTES = len(bundle) - 1

    response = _upload(_client(engineer), bundle)

    assert response.status_code == 400
    assert f"over the limit of {len(bundle) - 1} bytes (BUNDLE_MAX_UPLOAD_BYTES)" in response.json()["detail"]
    assert _stored_counts() == (0, 0, 0, 0, 0)


def test_per_file_and_total_size_limits_apply(settings, engineer: User, bundle: bytes) -> None:
    spans_size = len(files_of(bundle)["spans.otlp.json"])
    settings.BUNDLE_MAX_FILE_BYTES = spans_size - 1

    per_file = _upload(_client(engineer), bundle)
    settings.BUNDLE_MAX_FILE_BYTES = 10**9
    settings.BUNDLE_MAX_UNCOMPRESSED_BYTES = spans_size
    total = _upload(_client(engineer), bundle)

    assert per_file.status_code == total.status_code == 400
    assert f"over the per-file limit of {spans_size - 1}" in per_file.json()["detail"]
    assert f"over the limit of {spans_size} (BUNDLE_MAX_UNCOMPRESSED_BYTES)" in total.json()["detail"]
    assert _stored_counts() == (0, 0, 0, 0, 0)


def test_an_upload_without_the_bundle_field_is_400(engineer: User) -> None:
    response = _client(engineer).post("/api/bundles/import", {"other": io.BytesIO(b"x")}, format="multipart")

    assert response.status_code == 400
    assert response.json()["parameter"] == "bundle"


# --- dry replay ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("outsider", 403), ("engineer", 200), ("admin", 200)])
def test_dry_replay_is_for_engineers_and_admins(request: pytest.FixtureRequest, role: str, status: int) -> None:
    trace_id = _stored_trace()

    stored = _client(_user(request, role)).post(f"/api/traces/{trace_id}/dry-replay", {}, format="json")
    uploaded = _client(_user(request, role)).post(
        "/api/bundles/dry-replay",
        {"bundle": io.BytesIO(export_trace(trace_id, include_payloads=False, redaction="strict").content)},
        format="multipart",
    )

    assert (stored.status_code, uploaded.status_code) == (status, status)


def test_dry_replay_reports_over_the_api(engineer: User) -> None:
    trace_id = _stored_trace()

    report = _client(engineer).post(f"/api/traces/{trace_id}/dry-replay", {"tolerance_ms": 2}, format="json").json()

    assert report["ok"] is True
    assert report["trace_id"] == trace_id
    assert report["subject"] == "stored"
    assert {check["name"]: check["ok"] for check in report["checks"]} == {
        "span_tree": True,
        "timing": True,
        "clock_skew": True,
        "payload_refs": True,
        "payload_hashes": True,
        "agent_rerun": True,
    }
    assert "tolerance 2.000 ms" in next(c["detail"] for c in report["checks"] if c["name"] == "timing")


def test_zip_entries_must_be_regular_files(engineer: User, bundle: bytes) -> None:
    link = zipfile.ZipInfo("README.md")
    link.external_attr = 0o120777 << 16
    files = files_of(bundle)
    bad = raw_zip([*((n, d) for n, d in files.items() if n != "README.md"), (link, b"/etc/passwd")])

    response = _upload(_client(engineer), bad)

    assert response.status_code == 400
    assert response.json()["detail"] == "bundle entry 'README.md' is a symlink; only regular files are allowed"
    assert _stored_counts() == (0, 0, 0, 0, 0)

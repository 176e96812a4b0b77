"""Property-based fuzzing of the bundle reader, import and dry replay: a real bundle with its manifest or spans
replaced by JSON of any shape and depth, or its zip bytes damaged. The reader refuses with BundleRefused, import
and dry replay answer 2xx, 400 or 409, never 500."""

import io
import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from bundles.archive import BundleRefused, read_archive, write_archive
from bundles.exports import export_trace
from bundles.imports import configured_limits
from bundles.tests.factories import files_of, store_trace
from bundles.verification import inspect_bundle
from testing.factories import agent_trace
from tracefoundry_site.tests import fuzzing

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12)),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
FIELDS = (
    "format",
    "format_version",
    "trace_id",
    "redaction",
    "payloads_included",
    "span_count",
    "files",
    "environment",
)


@pytest.fixture
def bundle_files(db: None) -> dict[str, bytes]:
    return files_of(export_trace(store_trace(agent_trace()), include_payloads=False, redaction="strict").content)


@st.composite
def damaged_bundles(draw: st.DrawFn, files: dict[str, bytes]) -> bytes:
    files = dict(files)
    how = draw(st.sampled_from(["manifest field", "manifest", "spans", "nested", "zip bytes"]))
    if how == "manifest field":
        manifest = json.loads(files["manifest.json"])
        manifest[draw(st.sampled_from(FIELDS))] = draw(JSON_VALUES)
        files["manifest.json"] = json.dumps(manifest).encode()
    elif how == "manifest":
        files["manifest.json"] = json.dumps(draw(JSON_VALUES)).encode()
    elif how == "spans":
        files["spans.otlp.json"] = json.dumps(draw(JSON_VALUES)).encode()
    elif how == "nested":
        depth = draw(st.integers(1, 60_000))
        files[draw(st.sampled_from(["manifest.json", "spans.otlp.json"]))] = b"[" * depth + b"]" * depth
    archive = write_archive(files)
    if how == "zip bytes":
        at = draw(st.integers(0, len(archive) - 1))
        archive = archive[:at] + draw(st.binary(min_size=1, max_size=16)) + archive[at + 1 :]
    return archive


def test_the_reader_refuses_damaged_bundles_with_its_own_error(bundle_files: dict[str, bytes]) -> None:
    @fuzzing.fuzz_settings
    @given(archive=damaged_bundles(bundle_files))
    def case(archive: bytes) -> None:
        try:
            inspect_bundle(read_archive(io.BytesIO(archive), len(archive), configured_limits()))
        except BundleRefused:
            fuzzing.record("bundle reader (pure)", 400)
        else:
            fuzzing.record("bundle reader (pure)", 200)

    case()


def test_import_and_dry_replay_of_damaged_bundles_never_answer_500(
    bundle_files: dict[str, bytes], engineer: Any
) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(engineer)

    @fuzzing.http_fuzz_settings
    @given(archive=damaged_bundles(bundle_files), endpoint=st.sampled_from(["import", "dry-replay"]))
    def case(archive: bytes, endpoint: str) -> None:
        upload = io.BytesIO(archive)
        upload.name = "bundle.zip"
        response = client.post(f"/api/bundles/{endpoint}", {"bundle": upload})
        fuzzing.record(f"bundle {endpoint}", response.status_code, response.content[:300])
        assert response.status_code in (200, 201, 400, 409), response.content[:300]

    case()

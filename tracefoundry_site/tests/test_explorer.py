"""The explorer's static files as Django serves them: login guard, page lookup, cache headers, CSRF cookie,
and the catch-all leaving /api/, /admin/ and the other Django prefixes alone."""

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def build(tmp_path: Path, settings: object) -> Path:
    """A small export laid out as `next build` with `output: "export"` and `trailingSlash` writes it."""
    (tmp_path / "trace").mkdir()
    (tmp_path / "_next" / "static" / "chunks").mkdir(parents=True)
    (tmp_path / "index.html").write_text("<html>trace list</html>")
    (tmp_path / "trace" / "index.html").write_text("<html>trace detail</html>")
    (tmp_path / "_next" / "static" / "chunks" / "app-0123abcd.js").write_text("console.log(1)")
    (tmp_path / "favicon.ico").write_bytes(b"\x00\x00\x01\x00")
    (tmp_path / "trace" / "index.txt").write_text("1:router payload")
    settings.EXPLORER_BUILD_DIR = tmp_path  # type: ignore[attr-defined]
    (tmp_path.parent / "secret.txt").write_text("outside the build")
    return tmp_path


@pytest.fixture
def signed_in(viewer: User) -> Client:
    client = Client()
    assert client.login(username=viewer.username, password=PASSWORD)
    return client


def body(response: object) -> bytes:
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_logged_out_visitor_is_sent_to_login_with_next(build: Path) -> None:
    response = Client().get("/trace/?id=abc")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/trace/%3Fid%3Dabc"


def test_pages_are_served_uncached_with_a_csrf_cookie(build: Path, signed_in: Client) -> None:
    index = signed_in.get("/")
    assert index.status_code == 200
    assert body(index) == b"<html>trace list</html>"
    assert index["Content-Type"].startswith("text/html")
    assert index["Cache-Control"] == "no-cache"
    assert "csrftoken" in index.cookies
    for url in ("/trace/", "/trace"):
        assert body(signed_in.get(url, {"id": "0" * 32})) == b"<html>trace detail</html>"


def test_hashed_assets_are_immutable_and_need_no_login(build: Path) -> None:
    response = Client().get("/_next/static/chunks/app-0123abcd.js")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["Content-Type"].startswith("text/javascript")
    assert "csrftoken" not in response.cookies


def test_other_files_revalidate_and_need_no_login(build: Path) -> None:
    for url in ("/favicon.ico", "/trace/index.txt"):
        response = Client().get(url, {"_rsc": "x1"})
        assert response.status_code == 200
        assert response["Cache-Control"] == "no-cache"
    assert body(Client().get("/trace/index.txt")) == b"1:router payload"


def test_unknown_paths_send_visitors_to_login_and_are_404_for_users(build: Path, signed_in: Client) -> None:
    assert Client().get("/nope/").status_code == 302
    assert signed_in.get("/nope/").status_code == 404
    assert signed_in.get("/../secret.txt").status_code == 404
    assert signed_in.get("/%2e%2e/secret.txt").status_code == 404
    assert Client().get("/_next/static/missing.js").status_code == 404


def test_only_safe_methods(build: Path, signed_in: Client) -> None:
    assert signed_in.post("/").status_code == 405


def test_django_prefixes_are_not_shadowed(build: Path, signed_in: Client) -> None:
    api_miss = signed_in.get("/api/no-such-endpoint")
    assert api_miss.status_code == 404
    assert b"trace list" not in api_miss.content
    assert signed_in.get("/accounts/login/").status_code == 200
    assert signed_in.get("/admin").status_code == 301
    assert signed_in.get("/admin")["Location"] == "/admin/"
    assert signed_in.get("/static/nothing.css").status_code == 404
    assert signed_in.get("/otlp/v1/traces").status_code == 405


def test_missing_build_says_how_to_build(tmp_path: Path, settings: object, signed_in: Client) -> None:
    settings.EXPLORER_BUILD_DIR = tmp_path / "not-built"  # type: ignore[attr-defined]
    response = signed_in.get("/")
    assert response.status_code == 503
    assert b"make frontend" in response.content

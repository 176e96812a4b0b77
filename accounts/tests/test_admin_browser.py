"""In real Chromium: an admin signs in to /admin/, creates a user in `viewer`, and that user is refused
payload contents (403) while they may read traces."""

import json
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, sync_playwright
from pytest_django.live_server_helper import LiveServer

from conftest import PASSWORD
from testing.chromium import launch_chromium

NEW_PASSWORD = "viewer-Pass-for-tests-7"
PAYLOAD_URL = "/api/payloads/sha256:" + "ab" * 32


@pytest.fixture
def browser() -> Iterator[Browser]:
    # No ORM call may run while Playwright is started: its event loop gives the test a context of its own, in
    # which Django would open (and never close) a second database connection.
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


def _sign_in(page: Page, base: str, username: str, password: str, next_path: str) -> None:
    page.goto(f"{base}{next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_creates_a_viewer_who_cannot_read_payloads(
    live_server: LiveServer, admin_user: User, browser: Browser
) -> None:
    base = live_server.url
    admin_page = browser.new_context().new_page()

    _sign_in(admin_page, base, admin_user.username, PASSWORD, "/admin/")
    admin_page.wait_for_url(f"{base}/admin/")
    admin_page.click("a[href='/admin/auth/user/add/']")
    admin_page.fill("#id_username", "victor-viewer")
    admin_page.fill("#id_password1", NEW_PASSWORD)
    admin_page.fill("#id_password2", NEW_PASSWORD)
    admin_page.check("input[name=role][value=viewer]")
    admin_page.click("input[name=_save]")
    admin_page.wait_for_url(f"{base}/admin/auth/user/*/change/")
    created_banner = admin_page.text_content("ul.messagelist") or ""

    viewer_page = browser.new_context().new_page()
    _sign_in(viewer_page, base, "victor-viewer", NEW_PASSWORD, "/accounts/login/?next=/api/me")
    viewer_page.wait_for_url(f"{base}/api/me")
    me = json.loads(viewer_page.text_content("body") or "{}")
    payload_response = viewer_page.goto(f"{base}{PAYLOAD_URL}")
    assert payload_response is not None
    payload_body = payload_response.text()
    traces_response = viewer_page.goto(f"{base}/api/traces")
    admin_response = viewer_page.goto(f"{base}/admin/")

    assert "victor-viewer" in created_banner
    assert me["role"] == "viewer"
    assert me["permissions"]["read_payload_content"] is False
    assert payload_response.status == 403
    assert json.loads(payload_body) == {"detail": "Your role does not allow reading payload contents."}
    assert traces_response is not None
    assert traces_response.status == 200
    assert admin_response is not None
    assert admin_response.status == 403

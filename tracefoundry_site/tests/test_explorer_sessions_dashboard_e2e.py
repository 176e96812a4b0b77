"""Sessions, dashboards and the trace list's count, sorting and Back in Debian's Chromium, against a live
Django with the built explorer; plus the polish: no console error on any page, the favicon, readable primary
buttons, the root span's label at 1024 px, the styled 403 at /admin/.

Screenshots land in `test-artifacts/explorer/`.
"""

import re
import urllib.request

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import ConsoleMessage, Page, expect

from testing.factories import NOW_NS, SpanSpec, export_request, new_span_id, new_trace_id
from tracefoundry_site.tests.explorer_seed import (
    CONVERSATION,
    CONVERSATION_QUESTIONS,
    CONVERSATION_TURNS,
    CONVERSATION_USER,
    SEEDED,
    conversation_requests,
)
from tracefoundry_site.tests.test_explorer_e2e import browser, log_in, page, seeded, shot  # noqa: F401 (fixtures)
from traces.ingest import ingest_request

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def conversation(live_server: object, ingest_key: str, seeded: None) -> None:  # noqa: F811 (fixture)
    for body in conversation_requests():
        request = urllib.request.Request(  # noqa: S310 (a local test server over http)
            f"{live_server.url}/otlp/v1/traces",  # type: ignore[attr-defined]
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {ingest_key}", "Content-Type": "application/x-protobuf"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (a local test server)
            assert response.status == 200


@pytest.fixture
def console_errors(page: Page) -> list[str]:  # noqa: F811 (fixture)
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return errors


def test_engineer_reads_a_conversation_turn_by_turn(
    live_server: object,
    conversation: None,
    engineer: User,
    page: Page,  # noqa: F811 (fixture)
    console_errors: list[str],
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    log_in(page, base, engineer)
    page.get_by_role("link", name="Sessions").click()
    rows = page.get_by_test_id("session-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(CONVERSATION)
    expect(rows.first).to_contain_text("↻1")
    shot(page, "20-sessions")

    rows.first.click()
    expect(page).to_have_url(f"{base}/session/?id={CONVERSATION}")
    turns = page.get_by_test_id("turn")
    expect(turns).to_have_count(2)
    expect(page.get_by_test_id("turn-count")).to_have_text("2")
    expect(turns.nth(0)).to_have_attribute("data-trace-id", CONVERSATION_TURNS[0])
    first_input = turns.nth(0).locator("[data-testid=turn-payload][data-role=input]")
    expect(first_input).to_contain_text(CONVERSATION_QUESTIONS[0])
    expect(turns.nth(1).locator("[data-testid=turn-payload][data-role=output]")).to_contain_text("Turn 2 answer")
    shot(page, "21-session-turn-by-turn")

    turns.nth(1).get_by_test_id("turn-trace-link").click()
    expect(page).to_have_url(f"{base}/trace/?id={CONVERSATION_TURNS[1]}")
    expect(page.get_by_test_id("span-row")).to_have_count(3)
    expect(page.get_by_test_id("trace-session")).to_have_text(CONVERSATION)
    expect(page.get_by_test_id("trace-user")).to_have_text(CONVERSATION_USER)

    # The user's traces: the header's user links to the list filtered by it.
    page.get_by_test_id("trace-user").get_by_role("link").click()
    expect(page).to_have_url(f"{base}/?user={CONVERSATION_USER}")
    rows = page.get_by_test_id("trace-row")
    expect(rows).to_have_count(2)
    expect(rows.first.get_by_test_id("trace-user")).to_have_text(CONVERSATION_USER)
    expect(page.locator("input[name=user]")).to_have_value(CONVERSATION_USER)
    assert console_errors == []


def test_viewer_sees_the_turns_without_their_content(
    live_server: object,
    conversation: None,
    viewer: User,
    page: Page,  # noqa: F811 (fixture)
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    log_in(page, base, viewer, f"/session/?id={CONVERSATION}")
    expect(page.get_by_test_id("turn")).to_have_count(2)
    expect(page.get_by_test_id("payload-no-access")).to_be_visible()
    expect(page.get_by_test_id("turn-payload").first).to_contain_text("ref:")
    expect(page.get_by_test_id("session-view")).not_to_contain_text(CONVERSATION_QUESTIONS[0])
    shot(page, "22-session-viewer")


def test_dashboard_and_list_lead_to_each_other(
    live_server: object,
    conversation: None,
    engineer: User,
    page: Page,  # noqa: F811 (fixture)
    console_errors: list[str],
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    log_in(page, base, engineer, "/?environment=production")
    expect(page.get_by_test_id("trace-row")).to_have_count(4)
    expect(page.get_by_test_id("total-count")).to_have_text("4 traces")

    page.get_by_test_id("dashboard-link").click()
    expect(page).to_have_url(f"{base}/dashboard/?environment=production")
    page.select_option("select[name=group_by]", "service")
    expect(page).to_have_url(f"{base}/dashboard/?environment=production&group_by=service")
    chart = page.get_by_test_id("chart-count")
    bars = chart.locator(".recharts-bar-rectangle path")
    expect(bars.first).to_be_visible()
    expect(page.get_by_test_id("table-tool")).to_contain_text("search_orders")
    expect(page.get_by_test_id("table-model")).to_contain_text("gpt-4o-mini")
    shot(page, "23-dashboard-by-service")

    # Week-wide buckets: the seeded traces (a minute apart at most) make one bar per service, so the bar
    # leads to exactly that service's traces in the list.
    page.goto(f"{base}/dashboard/?environment=production&group_by=service&bucket_seconds=604800")
    chat_bar = chart.locator(".recharts-bar-rectangle path[name=chat-bot]")
    expect(chat_bar).to_have_count(1)
    chat_bar.click()
    expect(page).to_have_url(re.compile(r"/\?service=chat-bot&environment=production&start=[^&]+&end=[^&]+$"))
    rows = page.get_by_test_id("trace-row")
    expect(rows).to_have_count(2)
    assert sorted(str(row.get_attribute("data-trace-id")) for row in rows.all()) == sorted(CONVERSATION_TURNS)
    expect(page.locator("input[name=service]")).to_have_value("chat-bot")
    expect(page.locator("input[name=environment]")).to_have_value("production")
    shot(page, "24-list-from-dashboard-bar")
    assert console_errors == []


def test_list_counts_sorts_by_header_filters_flags_and_keeps_its_pages_on_back(
    live_server: object,
    conversation: None,
    engineer: User,
    page: Page,  # noqa: F811 (fixture)
    console_errors: list[str],
) -> None:
    for i in range(60):
        spec = SpanSpec(new_trace_id(), new_span_id(), f"batch job {i}", start_ns=NOW_NS - (i + 100) * 10**9)
        ingest_request(export_request([spec], service="batch"))
    base = live_server.url  # type: ignore[attr-defined]
    log_in(page, base, engineer)
    expect(page.get_by_test_id("total-count")).to_have_text("65 traces")

    page.get_by_test_id("sort-duration").click()
    expect(page).to_have_url(f"{base}/?sort=slowest")
    expect(page.locator("[data-testid=trace-row]").first).to_have_attribute("data-trace-id", SEEDED.refund_trace)
    page.get_by_test_id("sort-duration").click()
    expect(page).to_have_url(f"{base}/?sort=fastest")
    expect(page.get_by_test_id("sort-duration")).to_contain_text("↑")

    # The box mirrors the URL: it shows checked once the list has navigated (so click, not check()).
    page.locator("input[name=has_retries]").click()
    expect(page).to_have_url(f"{base}/?has_retries=true&sort=fastest")
    expect(page.locator("input[name=has_retries]")).to_be_checked()
    expect(page.get_by_test_id("trace-row")).to_have_count(2)
    page.fill("input[name=q]", "RATE LIMIT")  # a retry event's attribute
    page.press("input[name=q]", "Enter")
    expect(page.get_by_test_id("trace-row")).to_have_count(1)
    expect(page.get_by_test_id("trace-row").first).to_have_attribute("data-trace-id", CONVERSATION_TURNS[1])
    shot(page, "25-list-retries-and-event-search")

    page.goto(f"{base}/?service=batch")
    rows = page.get_by_test_id("trace-row")
    expect(rows).to_have_count(50)
    page.get_by_role("button", name="Load more").click()
    expect(rows).to_have_count(60)
    target = rows.nth(55)
    target.scroll_into_view_if_needed()
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 500
    target_id = target.get_attribute("data-trace-id")
    target.click()
    expect(page).to_have_url(f"{base}/trace/?id={target_id}")
    page.go_back()
    expect(rows).to_have_count(60)
    page.wait_for_function(f"Math.abs(window.scrollY - {scrolled}) < 40")
    assert console_errors == []


def test_no_console_errors_on_any_page_and_the_polish(
    live_server: object,
    conversation: None,
    engineer: User,
    viewer: User,
    page: Page,  # noqa: F811 (fixture)
    console_errors: list[str],
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    page.set_viewport_size({"width": 1024, "height": 768})
    log_in(page, base, engineer)
    for path, ready in [
        ("/", "trace-row"),
        (f"/trace/?id={SEEDED.refund_trace}", "span-row"),
        ("/sessions/", "session-row"),
        (f"/session/?id={CONVERSATION}", "turn"),
        ("/dashboard/", "chart-count"),
        ("/import/", "import-file"),
    ]:
        page.goto(f"{base}{path}")
        expect(page.get_by_test_id(ready).first).to_be_visible()
    assert page.request.get(f"{base}/favicon.ico").headers["content-type"] == "image/vnd.microsoft.icon"

    # At 1024 px the root span's duration stays clear of its name.
    page.goto(f"{base}/trace/?id={SEEDED.refund_trace}")
    root = page.locator("[data-span-id='1000000000000001']")
    name_box = root.locator(".spanname .name").bounding_box()
    label_box = root.get_by_test_id("bar-label").bounding_box()
    assert name_box
    assert label_box
    assert label_box["x"] >= name_box["x"] + name_box["width"]
    shot(page, "26-root-span-at-1024px")

    # A primary button hovered or focused keeps white text on the accent colour.
    page.goto(f"{base}/")
    apply = page.get_by_role("button", name="Apply")
    apply.hover()
    hovered = apply.evaluate("b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]")
    assert hovered[0] == "rgb(255, 255, 255)"
    assert hovered[1] not in ("rgb(238, 241, 245)", "rgba(0, 0, 0, 0)")
    apply.focus()
    focused = apply.evaluate("b => getComputedStyle(b).backgroundColor")
    assert focused not in ("rgb(238, 241, 245)", "rgba(0, 0, 0, 0)")
    assert console_errors == []


def test_viewer_gets_a_styled_403_at_admin(live_server: object, viewer: User, page: Page) -> None:  # noqa: F811
    base = live_server.url  # type: ignore[attr-defined]
    log_in(page, base, viewer)
    response = page.goto(f"{base}/admin/")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_test_id("forbidden")).to_contain_text("Only admins may use the admin site.")
    expect(page.get_by_role("link", name="Back to the explorer")).to_be_visible()
    shot(page, "27-admin-403-for-a-viewer")

"""The explorer end to end in Debian's Chromium (Playwright), against a live Django serving the built
frontend (`make frontend`) and the real API, with traces sent over OTLP/HTTP.

Screenshots land in `test-artifacts/explorer/`. The 10,000-span test prints its timings.
"""

import io
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from conftest import PASSWORD
from payloads import refs
from payloads.ingest import PayloadBatch
from testing.chromium import launch_chromium
from tracefoundry_site.tests.explorer_seed import (
    BIG_TRACE,
    EXPIRED_TRACE,
    HUGE_TRACE,
    MISSING_TRACE,
    SEEDED,
    UNSTORED_REF,
    big_trace_request,
    demo_requests,
    huge_trace_rows,
    payload_retention_requests,
)
from traces.ingest import ingest_request, write_spans
from traces.models import Span, Trace, TraceSource

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "explorer"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    built = Path(settings.EXPLORER_BUILD_DIR) / "index.html"
    assert built.is_file(), "build the explorer first: make frontend"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Playwright's sync API runs an event loop in this thread; the test's ORM calls stay synchronous.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = launch_chromium(playwright)
            yield chromium
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def seeded(live_server: object, ingest_key: str) -> None:
    for body in demo_requests():
        request = urllib.request.Request(  # noqa: S310 (a local test server over http)
            f"{live_server.url}/otlp/v1/traces",  # type: ignore[attr-defined]
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {ingest_key}", "Content-Type": "application/x-protobuf"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (a local test server)
            assert response.status == 200


def log_in(page: Page, base_url: str, user: User, next_path: str = "/") -> None:
    page.goto(f"{base_url}{next_path}")
    expect(page).to_have_url(f"{base_url}/accounts/login/?next={urllib.parse.quote(next_path, safe='/')}")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("whoami")).to_contain_text(user.username)


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def durations(page: Page) -> list[float]:
    return [
        float(v)
        for v in page.locator("[data-testid=trace-row] [data-testid=duration]").evaluate_all(
            "cells => cells.map(c => c.dataset.ms)"
        )
    ]


def test_engineer_filters_sorts_opens_a_trace_and_reads_a_payload(
    live_server: object, seeded: None, engineer: User, page: Page
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    log_in(page, base, engineer)
    rows = page.get_by_test_id("trace-row")
    expect(rows).to_have_count(3)
    shot(page, "01-trace-list")

    page.select_option("select[name=status]", "error")
    expect(page).to_have_url(f"{base}/?status=error")
    page.fill("input[name=model]", "gpt-4o")
    page.press("input[name=model]", "Enter")
    expect(page).to_have_url(f"{base}/?status=error&model=gpt-4o")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-trace-id", SEEDED.refund_trace)
    shot(page, "02-filtered-error-gpt-4o")

    page.reload()  # the filters live in the URL
    expect(rows).to_have_count(1)
    expect(page.locator("select[name=status]")).to_have_value("error")
    expect(page.locator("input[name=model]")).to_have_value("gpt-4o")

    page.get_by_role("button", name="Clear").click()
    expect(page).to_have_url(f"{base}/")
    page.select_option("select[name=sort]", "slowest")
    expect(page).to_have_url(f"{base}/?sort=slowest")
    expect(rows).to_have_count(3)
    # Waited for row by row: the unsorted rows are on screen until the sorted page replaces them.
    for index, trace_id in enumerate([SEEDED.refund_trace, SEEDED.faq_trace, SEEDED.billing_trace]):
        expect(rows.nth(index)).to_have_attribute("data-trace-id", trace_id)
    assert durations(page) == sorted(durations(page), reverse=True)

    rows.first.click()
    expect(page).to_have_url(f"{base}/trace/?id={SEEDED.refund_trace}")
    summary = page.get_by_test_id("trace-summary")
    expect(summary).to_contain_text("refund-agent")
    expect(summary).to_contain_text("error")
    span_rows = page.get_by_test_id("span-row")
    expect(span_rows).to_have_count(5)
    orphan = page.locator("[data-span-id='1000000000000005']")
    expect(orphan).to_contain_text("orphan")
    expect(page.locator("[data-span-id='1000000000000003'] [data-marker=retry]")).to_have_text("↻2")
    expect(page.locator("[data-span-id='1000000000000004'] [data-marker=error]")).to_be_visible()
    expect(page.locator("[data-span-id='1000000000000004'] [data-marker=timeout]")).to_be_visible()

    page.locator(f"[data-span-id='{SEEDED.llm_span}']").click()
    inspector = page.get_by_test_id("inspector")
    expect(inspector).to_have_attribute("data-span-id", SEEDED.llm_span)
    expect(inspector).to_contain_text("gpt-4o")
    expect(page).to_have_url(f"{base}/trace/?id={SEEDED.refund_trace}&span={SEEDED.llm_span}")
    input_payload = inspector.locator("[data-testid=payload][data-role=input_messages]")
    input_payload.get_by_test_id("payload-open").click()
    chat = input_payload.get_by_test_id("chat-view")
    expect(chat).to_contain_text(SEEDED.question)
    expect(chat).to_contain_text("You are a careful support agent.")
    shot(page, "03-trace-detail-llm-payload")
    page.emulate_media(color_scheme="dark")  # the theme follows the system
    shot(page, "03-trace-detail-llm-payload-dark")
    page.emulate_media(color_scheme="light")

    # Keyboard: arrows move through spans, `/` focuses the span search.
    page.keyboard.press("ArrowDown")
    expect(inspector).to_have_attribute("data-span-id", "1000000000000003")
    page.keyboard.press("ArrowDown")
    expect(inspector).to_have_attribute("data-span-id", "1000000000000004")
    expect(inspector.get_by_test_id("stacktrace")).to_contain_text("TimeoutError: read timed out")
    shot(page, "04-exception-stacktrace")
    page.keyboard.press("ArrowUp")
    expect(inspector).to_have_attribute("data-span-id", "1000000000000003")
    page.keyboard.press("/")
    expect(page.get_by_test_id("span-search")).to_be_focused()
    page.keyboard.type("notify")
    page.keyboard.press("Enter")
    expect(inspector).to_have_attribute("data-span-id", "1000000000000005")


def test_viewer_sees_refs_and_hashes_but_never_the_content(
    live_server: object, seeded: None, viewer: User, page: Page
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    log_in(page, base, viewer, f"/trace/?id={SEEDED.refund_trace}&span={SEEDED.llm_span}")
    inspector = page.get_by_test_id("inspector")
    expect(inspector).to_have_attribute("data-span-id", SEEDED.llm_span)
    expect(inspector.get_by_test_id("payload-no-access")).to_contain_text("do not have access")
    payload = inspector.locator("[data-testid=payload][data-role=input_messages]")
    expect(payload).to_contain_text("ref:")
    expect(payload.get_by_test_id("payload-open")).to_have_count(0)
    expect(inspector).not_to_contain_text(SEEDED.question)
    ref = payload.locator(".mono").first.inner_text().strip()
    refused = page.evaluate("ref => fetch('/api/payloads/' + ref).then(r => r.status)", ref)
    assert refused == 403
    shot(page, "05-viewer-no-payload-access")

    page.get_by_test_id("open-export").click()
    dialog = page.get_by_test_id("export-dialog")
    expect(dialog.locator("input[name=include_payloads]")).to_be_disabled()
    expect(dialog.get_by_test_id("reason-include_payloads")).to_contain_text("engineer or admin")
    expect(dialog.locator("input[name=redaction][value=off]")).to_be_disabled()
    expect(dialog.get_by_test_id("reason-off")).to_contain_text("Only admins")
    expect(dialog.locator("input[name=redaction][value=strict]")).to_be_enabled()
    expect(page.get_by_test_id("open-dry-replay")).to_be_disabled()
    shot(page, "06-viewer-export-dialog")
    page.keyboard.press("Escape")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{base}/accounts/login/")
    page.goto(f"{base}/trace/?id={SEEDED.refund_trace}")
    expect(page).to_have_url(f"{base}/accounts/login/?next=/trace/%3Fid%3D{SEEDED.refund_trace}")


def test_engineer_exports_a_bundle_imports_it_and_dry_replays(
    live_server: object, seeded: None, engineer: User, page: Page
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    log_in(page, base, engineer, f"/trace/?id={SEEDED.refund_trace}")
    page.get_by_test_id("open-dry-replay").click()
    # The seeded trace has an orphan on purpose: the tree check fails and says so; payloads all check out.
    expect(page.get_by_test_id("dry-replay-result")).to_have_text("some checks failed")
    tree_check = page.locator("[data-testid=dry-replay-check][data-check=span_tree]")
    expect(tree_check).to_have_attribute("data-ok", "false")
    expect(tree_check).to_contain_text("1 orphan")
    hashes = page.locator("[data-testid=dry-replay-check][data-check=payload_hashes]")
    expect(hashes).to_have_attribute("data-ok", "true")
    shot(page, "07-dry-replay")
    page.keyboard.press("Escape")

    page.get_by_test_id("open-export").click()
    dialog = page.get_by_test_id("export-dialog")
    dialog.locator("input[name=redaction][value=standard]").check()
    dialog.locator("input[name=include_payloads]").check()
    expect(dialog.locator("input[name=redaction][value=off]")).to_be_disabled()
    with page.expect_download() as download_info:
        dialog.get_by_test_id("export-submit").click()
    bundle = ARTIFACTS / "refund-trace-bundle.zip"
    download_info.value.save_as(bundle)
    expect(dialog.get_by_test_id("export-done")).to_contain_text("Downloaded")
    assert bundle.read_bytes()[:2] == b"PK"
    shot(page, "08-export-dialog")

    # Receive the bundle as another installation would: without the trace.
    Span.objects.filter(trace_id=SEEDED.refund_trace).delete()
    Trace.objects.filter(trace_id=SEEDED.refund_trace).delete()
    page.goto(f"{base}/import/")
    page.get_by_test_id("import-file").set_input_files(str(bundle))
    page.get_by_test_id("import-submit").click()
    result = page.get_by_test_id("import-result")
    expect(result).to_contain_text("Imported a new trace")
    expect(result).to_contain_text(SEEDED.refund_trace)
    shot(page, "09-import-result")
    result.get_by_role("link", name="Open trace").click()
    expect(page.get_by_test_id("trace-summary")).to_contain_text("imported bundle")
    expect(page.get_by_test_id("span-row")).to_have_count(5)

    # The same bundle again, once the stored trace has changed: refused with what differs, never merged.
    renamed = Span.objects.filter(trace_id=SEEDED.refund_trace).order_by("start_unix_nano").last()
    assert renamed is not None
    Span.objects.filter(pk=renamed.pk).update(name="renamed here")
    page.goto(f"{base}/import/")
    page.get_by_test_id("import-file").set_input_files(str(bundle))
    page.get_by_test_id("import-submit").click()
    conflict = page.get_by_test_id("import-conflict")
    expect(conflict).to_contain_text("already stored with different content")
    differences = page.get_by_test_id("import-differences")
    expect(differences).to_contain_text(f"span {renamed.span_id} ('renamed here') changed")
    shot(page, "09b-import-conflict")
    assert Span.objects.get(pk=renamed.pk).name == "renamed here"
    page.get_by_test_id("import-as-new").click()
    result = page.get_by_test_id("import-result")
    expect(result).to_contain_text("stored under a new id")
    assert Trace.objects.filter(source=TraceSource.BUNDLE_IMPORT).count() == 2


def test_strict_redaction_and_payloads_are_never_offered_together(
    live_server: object, seeded: None, engineer: User, page: Page
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    log_in(page, base, engineer, f"/trace/?id={SEEDED.refund_trace}")
    page.get_by_test_id("open-export").click()
    dialog = page.get_by_test_id("export-dialog")
    include = dialog.locator("input[name=include_payloads]")
    strict = dialog.locator("input[name=redaction][value=strict]")

    expect(strict).to_be_checked()  # the default
    expect(include).to_be_disabled()
    expect(dialog.get_by_test_id("reason-include_payloads")).to_contain_text("Strict bundles carry no payloads")
    shot(page, "13-export-strict-no-payloads")

    dialog.locator("input[name=redaction][value=standard]").check()
    expect(include).to_be_enabled()
    expect(dialog.get_by_test_id("reason-include_payloads")).to_have_count(0)
    include.check()
    expect(strict).to_be_disabled()
    expect(dialog.get_by_test_id("reason-strict")).to_contain_text("Strict bundles carry no payloads")
    shot(page, "14-export-payloads-no-strict")

    include.uncheck()
    expect(strict).to_be_enabled()
    expect(dialog.get_by_test_id("reason-strict")).to_have_count(0)


def test_expired_and_missing_payloads_are_labelled_and_never_requested(
    live_server: object, engineer: User, page: Page
) -> None:
    for body in payload_retention_requests(settings.RETENTION_PAYLOAD_DAYS):
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        assert ingest_request(request).accepted_spans == 2
    call_command("run_retention", stdout=io.StringIO())  # deletes the old trace's payloads, keeps its spans
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    base = live_server.url  # type: ignore[attr-defined]

    log_in(page, base, engineer, f"/trace/?id={EXPIRED_TRACE}&span=7000000000000002")
    inspector = page.get_by_test_id("inspector")
    expired = inspector.locator("[data-testid=payload][data-role=input_messages]")
    expect(expired).to_have_attribute("data-status", "expired")
    expect(expired.get_by_test_id("payload-status")).to_have_text("expired")
    expect(expired.get_by_test_id("payload-unavailable")).to_contain_text("retention deleted this content")
    expect(expired).to_contain_text("ref:")
    expect(expired.get_by_test_id("payload-open")).to_have_count(0)
    expect(inspector.locator("[data-testid=payload][data-status=expired]")).to_have_count(2)
    shot(page, "15-expired-payload")

    page.goto(f"{base}/trace/?id={MISSING_TRACE}&span=8000000000000002")
    missing = page.get_by_test_id("inspector").locator("[data-testid=payload][data-role=input_messages]")
    expect(missing).to_have_attribute("data-status", "missing")
    expect(missing.get_by_test_id("payload-status")).to_have_text("missing")
    expect(missing.get_by_test_id("payload-unavailable")).to_contain_text("never stored here")
    # The span named it by its content hash; the explorer shows the ref a viewer may see.
    expect(missing).to_contain_text(refs.public_value(UNSTORED_REF.removeprefix(refs.HASH_PREFIX)))
    expect(missing.get_by_test_id("payload-open")).to_have_count(0)
    shot(page, "16-missing-payload")
    assert [url for url in requested if "/api/payloads/" in url] == []


# Scroll the whole tree in 40 steps, one animation frame each; record the longest frame gap.
SCROLL_THE_TREE = """async () => {
  const el = document.querySelector('[data-testid=span-tree]');
  const frame = () => new Promise(r => requestAnimationFrame(() => r(performance.now())));
  let last = await frame(), longest = 0;
  const t0 = performance.now();
  for (let i = 1; i <= 40; i++) {
    el.scrollTop = (el.scrollHeight - el.clientHeight) * i / 40;
    const now = await frame();
    longest = Math.max(longest, now - last);
    last = now;
  }
  return {total: performance.now() - t0, longest};
}"""
FIRST_ROW_MS = "() => document.querySelector('[data-testid=span-row]') ? performance.now() : null"


def test_a_ten_thousand_span_trace_opens_and_scrolls_without_freezing(
    live_server: object, engineer: User, page: Page
) -> None:
    request = ExportTraceServiceRequest()
    request.ParseFromString(big_trace_request())
    assert ingest_request(request).accepted_spans == 10_001
    base = live_server.url  # type: ignore[attr-defined]
    log_in(page, base, engineer)

    page.goto(f"{base}/trace/?id={BIG_TRACE}")
    # Times on the page's own clock (ms since navigation started): first tree row on screen, spans received.
    first_row_ms = page.wait_for_function(FIRST_ROW_MS, timeout=60_000).json_value()
    spans_received_ms = page.evaluate(
        "() => performance.getEntriesByType('resource').find(e => e.name.includes('/spans')).responseEnd"
    )
    render_ms = first_row_ms - spans_received_ms
    in_dom = page.get_by_test_id("span-row").count()

    expect(page.get_by_test_id("spans-loading")).to_have_count(0, timeout=60_000)  # the pages after the first
    scroll = page.evaluate(SCROLL_THE_TREE)
    last_row = page.locator(f"[data-span-id='6{99:07x}{98:08x}']")  # the last tool call of the last step
    expect(last_row).to_be_visible()
    shot(page, "10-ten-thousand-spans-scrolled")
    page.keyboard.press("End")  # the keyboard reaches the last of 10,001 rows too
    expect(page.get_by_test_id("inspector")).to_have_attribute("data-span-id", f"6{99:07x}{98:08x}")
    print(
        f"\n10,001-span trace: tree on screen {first_row_ms:.0f} ms after navigation, "
        f"{render_ms:.0f} ms after its spans arrived ({spans_received_ms:.0f} ms); {in_dom} rows in the DOM; "
        f"scrolling 40 steps took {scroll['total']:.0f} ms, longest frame {scroll['longest']:.0f} ms"
    )
    assert render_ms < 5_000  # the explorer's own work: lay out 10,001 spans and render the first rows
    assert first_row_ms < 20_000  # end to end, API included (generous: a slow CI machine)
    assert in_dom < 200  # virtualised: only the rows on screen
    assert scroll["longest"] < 1000


def test_a_hundred_thousand_span_trace_shows_its_first_rows_at_once_and_scrolls_while_the_rest_loads(
    live_server: object, engineer: User, page: Page
) -> None:
    rows = huge_trace_rows()
    write_spans(rows, [HUGE_TRACE], TraceSource.OTLP, PayloadBatch())
    last_span = rows[-1]["span_id"]
    base = live_server.url  # type: ignore[attr-defined]
    log_in(page, base, engineer)

    page.goto(f"{base}/trace/?id={HUGE_TRACE}")
    first_row_ms = page.wait_for_function(FIRST_ROW_MS, timeout=60_000).json_value()
    first_page = page.evaluate(
        """() => { const e = performance.getEntriesByType('resource').find(e => e.name.includes('/spans'));
                   return {server: e.responseStart - e.requestStart, received: e.responseEnd}; }"""
    )
    expect(page.get_by_test_id("spans-loading")).to_be_visible()  # the first rows came before the rest
    shot(page, "17-hundred-thousand-spans-first-page")
    while_loading = page.evaluate(SCROLL_THE_TREE)
    expect(page.get_by_test_id("spans-loading")).to_have_count(0, timeout=180_000)
    all_loaded_ms = page.evaluate("() => performance.now()")
    loaded = page.evaluate(SCROLL_THE_TREE)
    expect(page.locator(f"[data-span-id='{last_span}']")).to_be_visible()
    shot(page, "18-hundred-thousand-spans-scrolled")
    page.keyboard.press("End")
    expect(page.get_by_test_id("inspector")).to_have_attribute("data-span-id", last_span)
    print(
        f"\n100,001-span trace: first rows on screen {first_row_ms:.0f} ms after navigation (first page of spans: "
        f"{first_page['server']:.0f} ms in the server, received at {first_page['received']:.0f} ms); all spans at "
        f"{all_loaded_ms:.0f} ms; scrolling 40 steps while loading: longest frame {while_loading['longest']:.0f} ms, "
        f"once loaded: {loaded['total']:.0f} ms in all, longest frame {loaded['longest']:.0f} ms"
    )
    assert first_row_ms < 2_000
    assert while_loading["longest"] < 1000
    assert loaded["longest"] < 1000


def test_list_says_when_the_session_expired_or_the_server_is_unreachable(
    live_server: object, seeded: None, engineer: User, page: Page
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    log_in(page, base, engineer)
    expect(page.get_by_test_id("trace-row")).to_have_count(3)

    page.context.clear_cookies(name="sessionid")
    page.select_option("select[name=status]", "ok")
    alert = page.locator(".state.error")
    expect(alert).to_contain_text("session has expired")
    expect(alert.get_by_role("link", name="Log in again")).to_have_attribute(
        "href", "/accounts/login/?next=%2F%3Fstatus%3Dok"
    )
    shot(page, "11-session-expired")

    log_in(page, base, engineer, "/?status=ok")
    expect(page.get_by_test_id("trace-row")).to_have_count(2)
    page.route("**/api/traces?*", lambda route: route.abort("connectionrefused"))
    page.select_option("select[name=status]", "error")
    expect(page.locator(".state.error")).to_contain_text("cannot be reached")
    shot(page, "12-server-unreachable")

"""Debian's Chromium for browser tests (Playwright cannot download a browser of its own here)."""

from playwright.sync_api import Browser, Playwright

CHROMIUM = "/usr/bin/chromium"
# Headless as root, and without the background traffic that this machine's closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_chromium(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

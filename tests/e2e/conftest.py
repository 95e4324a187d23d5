"""Browser fixtures: Debian's Chromium driven by Playwright against the real server (tests/conftest.py's
`server_url`). Playwright never downloads a browser here. Every test leaves a screenshot in tests/artifacts/.

The pages run under padbox's Content-Security-Policy (no eval), and a test sees any violation
(`watch_for_trouble`). So a `wait_for_function` predicate is always a function (`"() => ..."`): Playwright polls
a bare expression string with eval, which the policy refuses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, ViewportSize, sync_playwright

from .pad import Pad

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
LAPTOP: ViewportSize = {"width": 1280, "height": 800}


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium under Playwright's sync API, closed on the way out (for fixtures elsewhere too)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"browser tests need {CHROMIUM} (run `make test`, which installs Debian's chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# Package scope, not session: the sync API keeps an event loop running in this thread while it is open,
# which would stop pytest-asyncio's loop from running the async tests collected after this package.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


def watch_for_trouble(page: Page, errors: list[str], who: str = "") -> None:
    """Record into `errors` what a page threw and every Content-Security-Policy violation any of its frames logs:
    the server's CSP (server/padbox/web/headers.py) must never block a part of the pad, and a test that leaves
    `errors` empty proves it for all it did."""
    prefix = f"{who}: " if who else ""
    page.on("pageerror", lambda error: errors.append(f"{prefix}{error}\n{error.stack}"))

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            errors.append(f"{prefix}CSP violation: {message.text}")

    page.on("console", console)


def screenshot_path(request: pytest.FixtureRequest, moment: str = "") -> Path:
    """tests/artifacts/<test name>[-<moment>].png"""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name) + (f"-{moment}" if moment else "")
    return ARTIFACTS / (name + ".png")


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context (its own localStorage), light and at laptop size unless the test parametrizes
    `page` indirectly with {"viewport": ..., "scheme": "dark"}.

    The page's screenshot is saved when the test ends, passed or failed, so a person can see what the pad showed.
    """
    options = getattr(request, "param", {})
    context = browser.new_context(viewport=options.get("viewport", LAPTOP), color_scheme=options.get("scheme", "light"))
    page = context.new_page()
    errors: list[str] = []
    watch_for_trouble(page, errors)
    try:
        yield page
        assert not errors, f"the page threw: {errors}"
    finally:
        try:
            page.screenshot(path=screenshot_path(request))
        finally:
            context.close()


@pytest.fixture
def pad(page: Page, server_url: str) -> Pad:
    return Pad(page, server_url).open()

"""A server started with API tokens: the pad asks for one, remembers it, and takes one from its address."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.conftest import ServerProcess, instance_name, start_server

from .conftest import LAPTOP, screenshot_path, watch_for_trouble
from .pad import Pad

pytestmark = [pytest.mark.browser, pytest.mark.docker]

TOKEN = "pad-token-for-browser-tests"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = start_server(
        tmp_path_factory.mktemp("pad-guarded"),
        instance_name("pytest-pad-guarded"),
        PADBOX_TOKENS=TOKEN,
        PADBOX_POOL_SIZE="0",
    )
    yield srv
    srv.stop()


@pytest.fixture
def fresh_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page with empty storage, not yet at any address; its screenshot is saved at the end."""
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    errors: list[str] = []
    watch_for_trouble(page, errors)
    try:
        yield page
        assert not errors, errors
    finally:
        try:
            page.screenshot(path=screenshot_path(request))
        finally:
            context.close()


def test_pad_asks_for_a_token_and_remembers_it(
    fresh_page: Page, guarded: ServerProcess, request: pytest.FixtureRequest
) -> None:
    page = fresh_page
    page.goto(guarded.url + "/")
    pad = Pad(page, guarded.url)
    # Whether the language list or only /ws is guarded, the pad asks at the first refusal.
    if not page.is_visible("#token-form"):
        page.wait_for_function("() => window.padbox.language() !== null")
        pad.set_code('print("guarded")\n')
        pad.run()
    page.wait_for_selector("#token-form", state="visible")
    assert "token" in pad.notice()
    page.screenshot(path=screenshot_path(request, "asked"))

    page.fill("#token-input", TOKEN)
    page.click("#token-form button")
    page.wait_for_function("() => window.padbox.language() !== null")
    pad.set_code('print("guarded")\n')
    pad.run()
    pad.wait_for_output("guarded")
    assert pad.wait_for_verdict() == "ok"

    page.reload()
    page.wait_for_function("() => window.padbox.language() !== null")
    pad.run()
    assert pad.wait_for_verdict() == "ok", "the token outlives a reload"


def test_token_in_the_address_is_used_and_hidden(fresh_page: Page, guarded: ServerProcess) -> None:
    page = fresh_page
    page.goto(f"{guarded.url}/?token={TOKEN}")
    page.wait_for_function("() => window.padbox.language() !== null")
    assert TOKEN not in page.url
    pad = Pad(page, guarded.url)
    pad.set_code('print("from the address")\n')
    pad.run()
    pad.wait_for_output("from the address")
    assert pad.wait_for_verdict() == "ok"

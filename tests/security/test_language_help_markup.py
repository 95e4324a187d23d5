"""Language help's hover cards are Markdown rendered to HTML in every participant's page, and their text can be a
docstring that anyone with the pad's edit link wrote. The attack: a docstring carrying an `onerror` handler, a
script and a javascript: link, hovered by the pad's owner. The defence: the page sanitises that HTML
(DOMPurify, static/src/pad-lsp.js) before it is shown, so the card shows the words and runs nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.conftest import LAPTOP, chromium, screenshot_path
from tests.e2e.test_pad_language_help import csp_violation

READY_MS = 90_000
HOVER_MS = 30_000

EVIL_DOC = (
    'def helper():\n    """Helps. <img src=x onerror="window.__pwned = 1"> <script>window.__pwned = 2</script>'
    ' [more](javascript:window.__pwned=3)"""\n    return 1\n'
)
MAIN = "from util import helper\nhelper()\n"


# Module scope: the sync API's event loop must be gone before the suite's async tests run.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@dataclass
class Victim:
    """The owner's page, and the Content-Security-Policy reports it logged (the sanitiser's parsing of the
    attack's inline handler is one, refused: the defence behind the defence)."""

    page: Page
    csp_reports: list[str] = field(default_factory=list)


@pytest.fixture
def owner(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Victim]:
    """The owner's page; it may not throw."""
    context = browser.new_context(viewport=LAPTOP)
    found = Victim(context.new_page())
    errors: list[str] = []
    found.page.on("pageerror", lambda error: errors.append(str(error)))
    found.page.on("console", lambda message: csp_violation(message, "", found.csp_reports))
    try:
        yield found
        assert not errors, f"the page threw: {errors}"
    finally:
        try:
            found.page.screenshot(path=screenshot_path(request))
        finally:
            context.close()


def test_a_docstring_cannot_run_script_in_another_persons_hover_card(owner: Victim, server_url: str) -> None:
    victim = owner.page
    created = httpx.post(
        server_url + "/api/v1/pads",
        json={
            "language": "python",
            "files": [{"name": "main.py", "content": MAIN}, {"name": "util.py", "content": EVIL_DOC}],
            "entry": "main.py",
        },
        timeout=10,
    ).raise_for_status()
    victim.goto(created.json()["links"]["owner"])
    victim.fill("#pad-name-input", "Olga")
    victim.click("[data-testid=pad-name-ok]")
    victim.wait_for_function("() => window.padbox?.pad?.().synced === true", timeout=10_000)
    victim.click("#editor .cm-content")
    victim.wait_for_selector("[data-testid=pad-help][data-state=ready]", timeout=READY_MS)

    call = victim.locator("#editor .cm-line", has_text="helper()").last
    box = call.bounding_box()
    assert box is not None
    victim.mouse.move(box["x"] + 10, box["y"] + box["height"] / 2)
    card = victim.locator(".cm-lsp-hover-tooltip")
    card.wait_for(state="visible", timeout=HOVER_MS)
    assert "Helps." in card.inner_text()

    # The markup arrived (the card is the docstring's) and none of it can act, even once its image has failed.
    victim.wait_for_function(
        "() => [...document.querySelectorAll('.cm-lsp-hover-tooltip img')].every((img) => img.complete)"
    )
    assert victim.evaluate("window.__pwned") is None
    assert card.locator("script, [onerror], a[href^='javascript:' i]").count() == 0
    assert victim.evaluate("window.__pwned") is None
    # Under the server's CSP, the only reports are of the attack's inline handler, refused; nothing else broke.
    assert all("inline event handler" in report for report in owner.csp_reports), owner.csp_reports

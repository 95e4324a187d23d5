"""The interview's story in the browser: the candidate (an edit link) is told once what is recorded, pastes into
the editor, switches to another tab and back (the events a browser fires on a tab switch), and answers the
program's prompt; the owner's playback then shows the paste and focus markers and, beside the code, the terminal
with the typed input at that moment. The owner pins a note and reads the one-screen report, which prints alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from .conftest import LAPTOP, screenshot_path, watch_for_trouble
from .pad import RUN_TIMEOUT_MS

PROGRAM = 'name = input("name? ")\nprint("hello,", name)\n'
PASTED = "def two_sum(numbers, target):\n" + "    seen = {}\n" * 8 + "    return None\n"
SYNC_MS = 10_000
SWITCH_AWAY = """() => {
    window.dispatchEvent(new FocusEvent("blur"));
    Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "hidden"});
    document.dispatchEvent(new Event("visibilitychange"));
}"""
SWITCH_BACK = """() => {
    Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "visible"});
    document.dispatchEvent(new Event("visibilitychange"));
    window.dispatchEvent(new FocusEvent("focus"));
}"""


@pytest.fixture
def contexts(browser: Browser, request: pytest.FixtureRequest) -> Iterator[dict[str, BrowserContext]]:
    made = {role: browser.new_context(viewport=LAPTOP) for role in ("owner", "edit")}
    errors: list[str] = []
    for role, context in made.items():
        context.on("page", lambda page, role=role: watch_for_trouble(page, errors, role))
    try:
        yield made
        assert not errors, f"a page threw or the CSP blocked something: {errors}"
    finally:
        for role, context in made.items():
            for index, page in enumerate(context.pages):
                page.screenshot(path=screenshot_path(request, f"{role}-{index}"))
            context.close()


def join(page: Page, link: str, name: str) -> None:
    page.goto(link)
    page.fill("#pad-name-input", name)
    page.click("[data-testid=pad-name-ok]")
    page.wait_for_function("() => window.padbox?.pad?.().synced === true", timeout=SYNC_MS)


def history(server_url: str, pad: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.get(f"{server_url}/api/v1/pads/{pad['id']}/history", params={"key": pad["keys"]["owner"]})
    body: dict[str, Any] = answer.raise_for_status().json()
    return body


def test_the_owner_replays_a_paste_a_tab_switch_and_the_terminal_input(
    contexts: dict[str, BrowserContext], server_url: str, request: pytest.FixtureRequest
) -> None:
    pad: dict[str, Any] = (
        httpx.post(f"{server_url}/api/v1/pads", json={"files": [{"name": "main.py", "content": PROGRAM}]})
        .raise_for_status()
        .json()
    )
    candidate = contexts["edit"].new_page()
    join(candidate, pad["links"]["edit"], "Grace")
    # Told once, plainly, what is recorded.
    candidate.wait_for_selector("#notice:not([hidden])", timeout=SYNC_MS)
    assert "records" in candidate.inner_text("#notice-text") and "paste" in candidate.inner_text("#notice-text")
    candidate.screenshot(path=screenshot_path(request, "told"))
    candidate.click("#notice-close")

    # A paste into the editor (the browser's own paste event, with clipboard data).
    candidate.click("#editor .cm-content")
    candidate.keyboard.press("ControlOrMeta+End")
    candidate.evaluate(
        """(text) => {
            const data = new DataTransfer();
            data.setData("text/plain", text);
            const event = new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true});
            document.querySelector("#editor .cm-content").dispatchEvent(event);
        }""",
        PASTED,
    )
    candidate.wait_for_function("(t) => window.padbox.getCode().includes(t)", arg="def two_sum", timeout=SYNC_MS)

    # Another tab comes to the front, then the pad again. Headless Chromium neither hides a page nor moves focus when
    # another tab is brought to the front (tried: bring_to_front leaves visibilityState "visible" and hasFocus()
    # true), so the page is told exactly what a desktop browser tells it on a tab switch: blur, then
    # visibilitychange to hidden; then visibilitychange to visible, and focus.
    other = contexts["edit"].new_page()
    other.goto("about:blank")
    other.bring_to_front()
    candidate.evaluate(SWITCH_AWAY)
    candidate.bring_to_front()
    candidate.evaluate(SWITCH_BACK)

    # The candidate runs the pad and answers its prompt in the terminal.
    candidate.click("#editor .cm-content")
    candidate.keyboard.press("Control+Enter")
    candidate.wait_for_function("() => window.padbox.terminalText().includes('name?')", timeout=RUN_TIMEOUT_MS)
    candidate.click(".xterm")
    candidate.keyboard.type("Ada\n")
    candidate.wait_for_function("() => window.padbox.terminalText().includes('hello, Ada')", timeout=RUN_TIMEOUT_MS)
    candidate.wait_for_function("() => !window.padbox.running()", timeout=RUN_TIMEOUT_MS)
    candidate.close()  # the candidate's page is gone before the owner replays anything
    other.close()

    kinds = [m["kind"] for m in history(server_url, pad)["marks"]]
    assert "paste" in kinds and ({"focus_lost", "hidden"} & set(kinds)), kinds

    # The owner's playback shows both markers and the input, with the terminal beside the code.
    owner = contexts["owner"].new_page()
    join(owner, pad["links"]["owner"], "Olga")
    owner.click("[data-testid=pad-playback-button]")
    owner.wait_for_function(
        "() => (window.padbox.playback()?.moments ?? []).some((m) => m.kind === 'input')", timeout=SYNC_MS
    )
    moments = owner.evaluate("window.padbox.playback().moments")
    shown = {m["kind"] for m in moments}
    assert "paste" in shown and ({"focus_lost", "hidden"} & shown) and "input" in shown, moments
    assert owner.locator("[data-testid=playback-moment][data-kind=paste]").count() == 1
    assert owner.locator("[data-testid=playback-moment][data-kind=input]").count() >= 1

    # Step to the paste: the code then holds the pasted text, and no run has started.
    owner.locator("[data-testid=playback-moment][data-kind=paste]").click()
    at_paste = owner.evaluate("window.padbox.playback()")
    assert "def two_sum" in at_paste["code"] and at_paste["terminal"] == "(no run yet)"
    # Next, moment by moment, to the input: the terminal shows the prompt and the answer typed there.
    typed_at = next(m["at"] for m in moments if m["kind"] == "input")
    for _ in range(len(moments)):
        owner.click("[data-testid=playback-next]")
        state = owner.evaluate("window.padbox.playback()")
        if abs(state["time"] - typed_at) < 1e-3:
            break
    assert abs(state["time"] - typed_at) < 1e-3, (state["time"], moments)
    assert "name?" in state["terminal"] and "hello, Ada" not in state["terminal"] and "Ada" in state["typed"], state
    owner.screenshot(path=screenshot_path(request, "playback-input"))

    # Played from the start at 16x, it reaches the end by itself.
    owner.select_option("[data-testid=playback-speed]", "16")
    owner.click("[data-testid=playback-previous]")
    while owner.evaluate("window.padbox.playback().time") > owner.evaluate("window.padbox.playback().moments[0].at"):
        owner.click("[data-testid=playback-previous]")
    owner.click("[data-testid=playback-play]")
    owner.wait_for_function("() => window.padbox.playback().playing === false", timeout=60_000)
    assert "hello, Ada" in owner.evaluate("window.padbox.playback().terminal")

    # A pinned note, then the report.
    owner.click("[data-testid=pad-notes-button]")
    owner.fill("[data-testid=pad-pin-text]", "explained the approach before pasting")
    owner.click("[data-testid=pad-pin]")
    owner.wait_for_selector("[data-testid=pad-pinned-note]", timeout=SYNC_MS)
    owner.click("[data-testid=pad-report-button]")
    owner.wait_for_function("() => window.padbox.report() !== null", timeout=SYNC_MS)
    facts = owner.inner_text("[data-testid=pad-report-body]")
    assert "Pastes" in facts and "Focus lost" in facts and "explained the approach" in facts
    report = owner.evaluate("window.padbox.report()")
    assert report["pastes"]["count"] == 1 and report["focus_lost"]["count"] >= 1
    assert report["runs"][0]["input"] == "Ada\r" or report["runs"][0]["input"].startswith("Ada")
    owner.screenshot(path=screenshot_path(request, "report"))
    owner.emulate_media(media="print")
    owner.evaluate("document.body.dataset.printing = 'report'")
    assert owner.is_hidden("#editor") and owner.is_visible("#pad-report")
    owner.screenshot(path=screenshot_path(request, "report-print"), full_page=True)

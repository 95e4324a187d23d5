"""A person's view of the web pad, for the browser tests: pick a language, write code, run, type, read,
share a run and open someone else's."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

# Docker runs start in about a second; the first compile on a cold machine takes longer.
RUN_TIMEOUT_MS = 30_000


class Pad:
    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    def open(self) -> Pad:
        self.page.goto(self.base_url + "/")
        self.page.wait_for_function("() => window.padbox && window.padbox.language() !== null", timeout=15_000)
        return self

    def languages(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.page.evaluate(
            "fetch('/api/v1/languages').then((response) => response.json())"
        )
        return result

    def language(self, language_id: str) -> dict[str, Any]:
        return next(lang for lang in self.languages() if lang["id"] == language_id)

    def choose(self, language_id: str) -> None:
        self.page.select_option("#language", language_id)
        self.page.wait_for_function("(id) => window.padbox.language() === id", arg=language_id)

    def code(self) -> str:
        code: str = self.page.evaluate("window.padbox.getCode()")
        return code

    def set_code(self, text: str) -> None:
        self.page.evaluate("(text) => window.padbox.setCode(text)", text)

    def type_code(self, text: str) -> None:
        """Replace the editor's text by typing, key by key, as a person would."""
        self.page.click(".cm-content")
        self.page.keyboard.press("ControlOrMeta+a")
        self.page.keyboard.press("Delete")
        self.page.keyboard.type(text)

    def run(self) -> None:
        self.page.click("#run")

    def stop(self) -> None:
        self.page.click("#stop")

    def type_in_terminal(self, text: str) -> None:
        self.page.click(".xterm")
        self.page.keyboard.type(text)

    def terminal_text(self) -> str:
        text: str = self.page.evaluate("window.padbox.terminalText()")
        return text

    def status_line(self) -> str:
        return self.page.inner_text(".statusbar")

    def notice(self) -> str:
        if not self.page.is_visible("#notice"):
            return ""
        return self.page.inner_text("#notice-text")

    def wait_for_output(self, text: str, timeout: float = RUN_TIMEOUT_MS) -> str:
        """Wait until the terminal shows `text`; return everything it shows."""
        try:
            self.page.wait_for_function(
                "(text) => window.padbox.terminalText().includes(text)", arg=text, timeout=timeout
            )
        except PlaywrightError:
            raise AssertionError(f"terminal never showed {text!r}; {self.describe()}") from None
        return self.terminal_text()

    def wait_for_status(self, text: str, timeout: float = RUN_TIMEOUT_MS) -> None:
        try:
            self.page.wait_for_function(
                "(text) => document.getElementById('status').textContent.includes(text)", arg=text, timeout=timeout
            )
        except PlaywrightError:
            raise AssertionError(f"status never showed {text!r}; {self.describe()}") from None

    def wait_for_verdict(self, timeout: float = RUN_TIMEOUT_MS) -> str:
        """Wait for the run's verdict and return it (so a wrong verdict fails with what it was)."""
        try:
            self.page.wait_for_function("() => document.getElementById('verdict').textContent !== ''", timeout=timeout)
        except PlaywrightError:
            raise AssertionError(f"no verdict; {self.describe()}") from None
        return self.page.inner_text("#verdict")

    def wait_until_idle(self, timeout: float = RUN_TIMEOUT_MS) -> None:
        self.page.wait_for_function(
            "() => !window.padbox.running() && document.body.dataset.running === 'false'", timeout=timeout
        )

    # --- shared runs

    def share_links(self) -> dict[str, str]:
        """Open the Share panel and read the links it shows ({role: link}, only the visible rows); leave it open."""
        self.page.click("#share")
        self.page.wait_for_selector("#share-panel", state="visible")
        links = {}
        for role in ("driver", "viewer"):
            if self.page.is_visible(f"#share-{role}"):
                links[role] = self.page.input_value(f"#share-{role}")
        return links

    def shared(self) -> dict[str, str] | None:
        state: dict[str, str] | None = self.page.evaluate("window.padbox.shared()")
        return state

    def wait_for_shared(self, state: str, timeout: float = RUN_TIMEOUT_MS) -> None:
        try:
            self.page.wait_for_function(
                "(state) => window.padbox && window.padbox.shared() && window.padbox.shared().state === state",
                arg=state,
                timeout=timeout,
            )
        except PlaywrightError:
            raise AssertionError(f"the shared run never became {state!r}: {self.shared()}; {self.describe()}") from None

    def banner(self) -> str:
        return self.page.inner_text("#share-title") if self.page.is_visible("#share-banner") else ""

    def presence(self) -> str:
        return self.page.inner_text("#presence") if self.page.is_visible("#presence") else ""

    def wait_for_presence(self, text: str, timeout: float = 10_000) -> None:
        try:
            self.page.wait_for_function(
                "(text) => document.getElementById('presence').textContent === text", arg=text, timeout=timeout
            )
        except PlaywrightError:
            raise AssertionError(f"presence never read {text!r} but {self.presence()!r}") from None

    def describe(self) -> str:
        return (
            f"status line: {self.status_line()!r}, notice: {self.notice()!r}, "
            f"terminal: {json.dumps(self.terminal_text())}"
        )

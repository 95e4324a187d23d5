"""Collaborative pads in the browser: three people (owner, editor, viewer), each in their own browser context,
on one pad at /p/<id>#key=... against the real server. They edit the same code, see each other's cursors, run
it together and answer its prompt; the viewer can change nothing; the owner replays and ends the pad."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from .conftest import LAPTOP, screenshot_path, watch_for_trouble
from .pad import RUN_TIMEOUT_MS

PROGRAM = 'name = input("name? ")\nprint("hello,", name)\n'
SYNC_MS = 10_000


@dataclass
class Person:
    """One person's page on the pad."""

    page: Page
    name: str

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.page.evaluate("window.padbox.pad()")
        return state

    def code(self) -> str:
        code: str = self.page.evaluate("window.padbox.getCode()")
        return code

    def terminal(self) -> str:
        text: str = self.page.evaluate("window.padbox.terminalText()")
        return text

    def wait_synced(self) -> None:
        self.page.wait_for_function("() => window.padbox?.pad?.().synced === true", timeout=SYNC_MS)

    def wait_for_code(self, text: str, timeout: float = SYNC_MS) -> None:
        self.page.wait_for_function("(t) => window.padbox.getCode().includes(t)", arg=text, timeout=timeout)

    def wait_for_terminal(self, text: str, timeout: float = RUN_TIMEOUT_MS) -> None:
        self.page.wait_for_function("(t) => window.padbox.terminalText().includes(t)", arg=text, timeout=timeout)

    def type_at_end(self, text: str) -> None:
        self.page.click("#editor .cm-content")
        self.page.keyboard.press("ControlOrMeta+End")
        self.page.keyboard.type(text)


def create_pad(base_url: str, **body: Any) -> dict[str, Any]:
    created: dict[str, Any] = httpx.post(base_url + "/api/v1/pads", json=body, timeout=10).raise_for_status().json()
    return created


@pytest.fixture
def people(browser: Browser, request: pytest.FixtureRequest) -> Iterator[dict[str, Person]]:
    """Three browser contexts, each with its own storage; screenshots of all three when the test ends, and no
    page may throw."""
    contexts = [browser.new_context(viewport=LAPTOP) for _ in range(3)]
    errors: list[str] = []
    found: dict[str, Person] = {}
    for role, context, name in zip(("owner", "edit", "view"), contexts, ("Olga", "Eddie", "Vic"), strict=True):
        page = context.new_page()
        watch_for_trouble(page, errors, role)
        page.on("dialog", lambda dialog: dialog.accept())  # End pad and Delete ask first
        found[role] = Person(page, name)
    try:
        yield found
        assert not errors, f"a page threw: {errors}"
    finally:
        try:
            for role, person in found.items():
                person.page.screenshot(path=screenshot_path(request, role))
        finally:
            for context in contexts:
                context.close()


def open_as(person: Person, link: str) -> None:
    """Open a pad link, giving the name the page asks for once."""
    person.page.goto(link)
    person.page.fill("#pad-name-input", person.name)
    person.page.click("[data-testid=pad-name-ok]")
    person.wait_synced()


def test_three_people_edit_run_answer_replay_and_end_a_pad(
    people: dict[str, Person], server_url: str, request: pytest.FixtureRequest
) -> None:
    owner, editor, viewer = people["owner"], people["edit"], people["view"]

    # The owner makes the pad from the home page's code, and lands on it as its owner.
    owner.page.goto(server_url + "/")
    owner.page.wait_for_function("() => window.padbox && window.padbox.language() === 'python'", timeout=15_000)
    owner.page.evaluate("(code) => window.padbox.setCode(code)", PROGRAM)
    owner.page.click("[data-testid=new-pad]")
    owner.page.wait_for_url("**/p/**")
    owner.page.fill("#pad-name-input", owner.name)
    owner.page.click("[data-testid=pad-name-ok]")
    owner.wait_synced()
    assert owner.state()["role"] == "owner"
    assert owner.code() == PROGRAM

    # The Links panel holds all three links; the others open theirs.
    owner.page.click("[data-testid=pad-links-button]")
    edit_link = owner.page.input_value("[data-testid=pad-link-edit]")
    view_link = owner.page.input_value("[data-testid=pad-link-view]")
    assert "/p/" in edit_link and "#key=" in edit_link and edit_link != view_link
    owner.page.click("[data-testid=pad-links-button]")
    open_as(editor, edit_link)
    open_as(viewer, view_link)
    assert (editor.state()["role"], viewer.state()["role"]) == ("edit", "view")
    owner.page.wait_for_function("() => window.padbox.pad().people.length === 3", timeout=SYNC_MS)
    assert sorted(owner.state()["people"]) == ["Eddie", "Olga", "Vic"]

    # Text typed by the editor appears on the owner's page (and the viewer's) within a second.
    editor.type_at_end("# typed by Eddie\n")
    started = time.monotonic()
    owner.wait_for_code("# typed by Eddie", timeout=1_000)
    viewer.wait_for_code("# typed by Eddie", timeout=1_000)
    assert time.monotonic() - started < 1.0

    # The editor's cursor shows on the owner's page, labelled with their name.
    caret = owner.page.locator("#editor .cm-ySelectionCaret", has_text="Eddie")
    caret.wait_for(state="visible", timeout=SYNC_MS)

    # The viewer cannot type into the editor: nothing changes, for anyone.
    before = owner.code()
    assert viewer.page.get_attribute("#editor .cm-content", "contenteditable") == "false"
    viewer.page.click("#editor .cm-content")
    viewer.page.keyboard.type("VIEWER WAS HERE")
    assert "VIEWER WAS HERE" not in viewer.code()
    # A barrier, not a pause: the editor types after the viewer did; once that has reached both pages, an edit
    # the viewer's page had sent would have too.
    editor.type_at_end("# barrier\n")
    owner.wait_for_code("# barrier")
    viewer.wait_for_code("# barrier")
    assert "VIEWER WAS HERE" not in owner.code() + viewer.code()
    assert owner.code() == before + "# barrier\n"

    # Ctrl+Enter on the owner's page runs the pad; the prompt shows in all three terminals.
    owner.page.click("#editor .cm-content")
    owner.page.keyboard.press("Control+Enter")
    for person in (owner, editor, viewer):
        person.wait_for_terminal("name?")

    # The viewer's typing never reaches the program; the editor's answer does, and everyone sees its effect.
    viewer.page.click(".xterm")
    viewer.page.keyboard.type("Mallory\n")
    # No pause: the keys have reached the viewer's page once type() returns, and its session keeps them (a page
    # that sent them would have written the frame to its socket before the editor's first key exists).
    assert viewer.page.evaluate("window.padbox.pad().run.canType") is False
    editor.page.click(".xterm")
    editor.page.keyboard.type("Ada\n")
    for person in (owner, editor, viewer):
        person.wait_for_terminal("hello, Ada")
        assert "Mallory" not in person.terminal()
    owner.page.wait_for_function("() => !window.padbox.running()", timeout=RUN_TIMEOUT_MS)
    owner.page.screenshot(path=screenshot_path(request, "answered"))

    # Playback: the slider's first step shows the code before the editor typed.
    owner.page.click("[data-testid=pad-playback-button]")
    owner.page.wait_for_function("() => (window.padbox.playback()?.length ?? 0) > 1", timeout=SYNC_MS)
    latest = owner.page.evaluate("window.padbox.playback()")
    assert "# typed by Eddie" in latest["code"]
    owner.page.locator("[data-testid=playback-marker]").first.wait_for(timeout=SYNC_MS)
    owner.page.eval_on_selector(
        "#playback-slider", "(s) => { s.value = '0'; s.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    earliest = owner.page.evaluate("window.padbox.playback()")
    assert earliest["step"] == 0
    assert earliest["code"] == PROGRAM
    # Halfway through Eddie's typing, the comment stands half-typed.
    middle = latest["length"] // 2
    owner.page.eval_on_selector(
        "#playback-slider",
        f"(s) => {{ s.value = '{middle}'; s.dispatchEvent(new Event('input', {{bubbles: true}})); }}",
    )
    partial = owner.page.evaluate("window.padbox.playback()")["code"]
    assert partial.startswith(PROGRAM) and PROGRAM != partial != latest["code"]
    # Opening the run's marker shows its output.
    owner.page.locator("[data-testid=playback-marker]").first.click()
    assert "hello, Ada" in owner.page.inner_text("[data-testid=playback-output]")
    owner.page.screenshot(path=screenshot_path(request, "playback"))

    # The owner ends the pad: read-only everywhere.
    owner.page.click("[data-testid=pad-end]")
    for person in (owner, editor, viewer):
        person.page.wait_for_function("() => window.padbox.pad().ended === true", timeout=SYNC_MS)
        assert person.page.get_attribute("#editor .cm-content", "contenteditable") == "false"
        assert person.page.is_disabled("#run")
    frozen = owner.code()
    editor.page.click("#editor .cm-content")
    editor.page.keyboard.type("after the end")
    # No pause: the keys were handled by the editor's page when type() returned, and a read-only editor takes
    # none; the server refuses an ended pad's edits anyway (tests/test_pads.py), so the owner sees none either.
    assert editor.code() == frozen
    assert owner.code() == frozen


def test_files_added_and_renamed_reach_everyone(people: dict[str, Person], server_url: str) -> None:
    created = create_pad(server_url, language="python")
    owner, editor = people["owner"], people["edit"]
    open_as(owner, created["links"]["owner"])
    open_as(editor, created["links"]["edit"])

    editor.page.click("[data-testid=add-file]")
    editor.page.fill("[data-testid=file-name-input]", "util.py")
    editor.page.keyboard.press("Enter")
    owner.page.wait_for_function("() => window.padbox.pad().files.includes('util.py')", timeout=SYNC_MS)
    assert editor.state()["file"] == "util.py"
    editor.type_at_end("def twice(x):\n    return 2 * x\n")

    owner.page.click("[data-testid=file-tab][data-file='util.py']")
    owner.wait_for_code("return 2 * x")
    owner.page.click("[data-testid=rename-file]")
    owner.page.fill("[data-testid=file-name-input]", "helpers.py")
    owner.page.keyboard.press("Enter")
    editor.page.wait_for_function("() => window.padbox.pad().files.join() === 'main.py,helpers.py'", timeout=SYNC_MS)
    # Both were on the renamed file: each follows it under its new name, text intact.
    for person in (owner, editor):
        assert person.state()["file"] == "helpers.py"
        assert "return 2 * x" in person.code()


def test_a_wrong_key_says_no_pad_has_that_id_and_key(people: dict[str, Person], server_url: str) -> None:
    created = create_pad(server_url)
    page = people["view"].page
    page.goto(f"{server_url}/p/{created['id']}#key=not-the-right-key-at-all")
    page.wait_for_selector("#notice:not([hidden])", timeout=SYNC_MS)
    assert "No pad has that id and key" in page.inner_text("#notice-text")
    assert page.is_hidden("#pad-name-dialog")

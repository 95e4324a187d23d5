"""Language help in the pad, in real browsers against the real server and its real language servers: two people
on one Python pad see the same diagnostic, one of them completes `os.pa` to `os.path` from the list and the other
sees the text; the owner's switch turns it off and on for both; a language without help says so, never an error."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, WebSocket
from playwright.sync_api import Error as PlaywrightError

from tests.conftest import ServerProcess

from .conftest import LAPTOP, screenshot_path
from .test_pads import Person, create_pad, open_as

# The first question starts the pad's language server in its sandbox: seconds on a cold, shared machine.
READY_MS = 90_000
DIAGNOSTIC_MS = 30_000
SYNC_MS = 10_000
# A completion asked while the server's copy still lacks the last keystroke is answered empty (never wrong);
# a person then asks again with Ctrl+Space, as the test does.
COMPLETION_TRIES = 6
COMPLETION_WAIT_MS = 5_000

BROKEN = "print(undefined_name)\n"
SENT: dict[str, list[str]] = {}  # role -> the methods its page sent on the language-help socket


def csp_violation(message: ConsoleMessage, who: str, errors: list[str]) -> None:
    if "Content Security Policy" in message.text:
        errors.append(f"{who}CSP violation: {message.text}")


def record_lsp(socket: WebSocket, sent: list[str]) -> None:
    if "/lsp?" in socket.url:
        socket.on("framesent", lambda payload: sent.append(str(json.loads(payload).get("method", ""))))


@pytest.fixture
def people(browser: Browser, request: pytest.FixtureRequest) -> Iterator[dict[str, Person]]:
    """The owner, an editor and a viewer, each in a browser context of their own, with every JSON-RPC message
    each page sends on its language-help socket recorded (`sent`); screenshots of all when the test ends, and no
    page may throw."""
    contexts = [browser.new_context(viewport=LAPTOP) for _ in range(3)]
    errors: list[str] = []
    found: dict[str, Person] = {}
    for role, context, name in zip(("owner", "edit", "view"), contexts, ("Olga", "Eddie", "Vic"), strict=True):
        page = context.new_page()
        page.on("pageerror", lambda error, role=role: errors.append(f"{role}: {error}"))
        # The server's Content-Security-Policy must never block a part of language help (a hover card's markup).
        page.on("console", lambda message, role=role: csp_violation(message, f"{role}: ", errors))
        page.on("websocket", lambda socket, role=role: record_lsp(socket, SENT.setdefault(role, [])))
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


def help_state(page: Page) -> dict[str, str]:
    element = page.locator("[data-testid=pad-help]")
    return {"state": element.get_attribute("data-state") or "", "text": element.inner_text()}


def wait_for_help(person: Person, state: str, timeout: float = READY_MS) -> None:
    try:
        person.page.wait_for_selector(f"[data-testid=pad-help][data-state={state}]", timeout=timeout)
    except PlaywrightError:
        raise AssertionError(
            f"{person.name}'s language help never became {state!r}: {help_state(person.page)}"
        ) from None


def diagnostics(page: Page) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=pad-diagnostic]')].map((li) => ({
              file: li.dataset.file, line: Number(li.dataset.line), severity: li.dataset.severity,
              text: li.innerText}))"""
    )
    return rows


def wait_for_diagnostic(person: Person, needle: str, timeout: float = DIAGNOSTIC_MS) -> dict[str, Any]:
    person.page.wait_for_function(
        """(needle) => [...document.querySelectorAll('[data-testid=pad-diagnostic]')]
              .some((li) => li.innerText.includes(needle))""",
        arg=needle,
        timeout=timeout,
    )
    return next(row for row in diagnostics(person.page) if needle in row["text"])


def wait_for_completion(person: Person, label: str) -> None:
    """Wait for the completion list to offer `label`, asking again with Ctrl+Space when an answer came back empty."""
    for _ in range(COMPLETION_TRIES):
        try:
            person.page.wait_for_function(
                """(label) => [...document.querySelectorAll('.cm-tooltip-autocomplete .cm-completionLabel')]
                      .some((e) => e.textContent === label)""",
                arg=label,
                timeout=COMPLETION_WAIT_MS,
            )
            return
        except PlaywrightError:
            person.page.keyboard.press("Control+Space")
    raise AssertionError(f"the completion list never offered {label!r}: {help_state(person.page)}")


def pick_completion(person: Person, label: str) -> None:
    """Click `label` in the completion list, as a person would."""
    option = person.page.locator(".cm-tooltip-autocomplete li").filter(
        has=person.page.locator(".cm-completionLabel", has_text=re.compile(f"^{re.escape(label)}$"))
    )
    option.first.scroll_into_view_if_needed()
    option.first.click()


def test_two_people_share_diagnostics_and_one_completes_from_the_list(
    people: dict[str, Person], server_url: str, request: pytest.FixtureRequest
) -> None:
    owner, editor, viewer = people["owner"], people["edit"], people["view"]
    SENT.clear()
    created = create_pad(server_url, language="python", files=[{"name": "main.py", "content": BROKEN}])
    open_as(owner, created["links"]["owner"])
    open_as(editor, created["links"]["edit"])
    open_as(viewer, created["links"]["view"])

    # Coming to the editor to type starts the pad's language server; both pages follow its state to ready.
    editor.page.click("#editor .cm-content")
    wait_for_help(editor, "ready")
    wait_for_help(owner, "ready")
    wait_for_help(viewer, "ready")
    assert help_state(editor.page)["text"] == "language help: ready"

    # The server computes the diagnostics once and both pages show the same one, listed and underlined.
    mine = wait_for_diagnostic(editor, "undefined_name")
    theirs = wait_for_diagnostic(owner, "undefined_name")
    watched = wait_for_diagnostic(viewer, "undefined_name")
    assert mine == theirs == watched
    assert (mine["file"], mine["line"], mine["severity"]) == ("main.py", 1, "error")
    for person in (owner, editor, viewer):
        person.page.wait_for_selector("#editor .cm-lintRange-error", timeout=SYNC_MS)

    # The editor types a prefix and gets the language server's completion list; picking `path` completes it.
    editor.type_at_end("import os\nos.pa")
    wait_for_completion(editor, "path")
    editor.page.screenshot(path=screenshot_path(request, "completion-list"))
    pick_completion(editor, "path")
    editor.wait_for_code("import os\nos.path", timeout=SYNC_MS)
    # The completed text reaches the other page like any edit.
    owner.wait_for_code("import os\nos.path", timeout=SYNC_MS)
    assert owner.code() == editor.code() == BROKEN + "import os\nos.path"
    assert owner.page.locator(".cm-tooltip-autocomplete").count() == 0, "the owner asked for nothing"
    # The diagnostic on line 1 is still there for both, after the edit.
    assert wait_for_diagnostic(owner, "undefined_name")["line"] == 1
    owner.page.screenshot(path=screenshot_path(request, "owner-sees-completion"))

    # The viewer gets hover cards (over `print`), and its page never asked for completion or anything else.
    viewer.wait_for_code("os.path", timeout=SYNC_MS)
    word = viewer.page.locator("#editor .cm-line").first
    box = word.bounding_box()
    assert box is not None
    viewer.page.mouse.move(box["x"] + 12, box["y"] + box["height"] / 2)
    viewer.page.wait_for_selector(".cm-lsp-hover-tooltip", timeout=DIAGNOSTIC_MS)
    viewer.page.screenshot(path=screenshot_path(request, "viewer-hover"))
    asked = {method for method in SENT["view"] if method.startswith("textDocument/")}
    assert asked == {"textDocument/hover"}, SENT["view"]
    assert "textDocument/completion" in SENT["edit"]
    assert not any(m.startswith("textDocument/did") for role in SENT for m in SENT[role]), SENT

    # The owner turns language help off: both pages say so and the diagnostics go; on again, help comes back.
    owner.page.uncheck("[data-testid=pad-help-enabled]")
    for person in (owner, editor, viewer):
        wait_for_help(person, "off", timeout=SYNC_MS)
        person.page.wait_for_function(
            "() => document.querySelectorAll('[data-testid=pad-diagnostic]').length === 0", timeout=SYNC_MS
        )
    assert help_state(editor.page)["text"] == "language help: off"
    # The pad's history records the switch and who turned it.
    history = httpx.get(
        f"{server_url}/api/v1/pads/{created['id']}/history", params={"key": created["keys"]["owner"]}, timeout=10
    ).json()
    assert [(s["value"], s["author"]["name"]) for s in history["settings"]] == [(False, "Olga")]
    editor.page.screenshot(path=screenshot_path(request, "help-off"))
    owner.page.check("[data-testid=pad-help-enabled]")
    editor.page.click("#editor .cm-content")
    wait_for_help(editor, "ready")
    wait_for_diagnostic(editor, "undefined_name")


def test_a_language_without_help_says_so_and_typing_goes_on(
    page: Page, server_url: str, request: pytest.FixtureRequest
) -> None:
    editor = Person(page, "Eddie")
    languages = {lang["id"]: lang["name"] for lang in httpx.get(server_url + "/api/v1/languages", timeout=10).json()}
    created = create_pad(server_url, language="brainfuck", files=[{"name": "main.bf", "content": "+++.\n"}])
    open_as(editor, created["links"]["edit"])
    editor.page.click("#editor .cm-content")
    wait_for_help(editor, "unsupported", timeout=SYNC_MS)
    text = help_state(editor.page)["text"]
    assert text.startswith("no language help for "), text
    assert languages["brainfuck"].split(" (")[0] in text or "brainfuck" in text.lower(), text

    # Typing, asking for completion and for a definition change nothing but the text, and show no error.
    editor.type_at_end("[-]")
    editor.page.keyboard.press("Control+Space")
    editor.page.keyboard.press("F12")
    editor.wait_for_code("+++.\n[-]", timeout=SYNC_MS)
    assert editor.page.locator(".cm-lsp-message-error, .cm-tooltip-autocomplete").count() == 0
    assert editor.page.locator("[data-testid=pad-diagnostics]").is_hidden()
    editor.page.screenshot(path=screenshot_path(request, "no-language-help"))


def test_definition_opens_the_other_files_tab_and_signatures_and_highlights_show(
    page: Page, server_url: str, request: pytest.FixtureRequest
) -> None:
    editor = Person(page, "Eddie")
    util = "def helper(count, label):\n    return label * count\n"
    main = "from util import helper\n\nhelper(2, 'a')\nhelper(3, 'b')\n"
    created = create_pad(
        server_url,
        language="python",
        files=[{"name": "main.py", "content": main}, {"name": "util.py", "content": util}],
        entry="main.py",
    )
    open_as(editor, created["links"]["edit"])
    editor.page.click("#editor .cm-content")
    wait_for_help(editor, "ready")

    # Every use of the name at the cursor is marked.
    call = editor.page.locator("#editor .cm-line", has_text="helper(2, 'a')")
    box = call.bounding_box()
    assert box is not None
    editor.page.mouse.click(box["x"] + 12, box["y"] + box["height"] / 2)
    editor.page.wait_for_function(
        "() => document.querySelectorAll('#editor .cm-lsp-highlight').length >= 3", timeout=DIAGNOSTIC_MS
    )

    # Ctrl+click on a name defined in another file of the pad opens that file's tab at the definition.
    editor.page.keyboard.down("Control")
    editor.page.mouse.click(box["x"] + 12, box["y"] + box["height"] / 2)
    editor.page.keyboard.up("Control")
    editor.page.wait_for_function("() => window.padbox.pad().file === 'util.py'", timeout=DIAGNOSTIC_MS)
    head = editor.page.evaluate("window.padbox.cursor()")
    assert head["line"] == 1, head
    editor.page.screenshot(path=screenshot_path(request, "definition"))

    # F12 does the same from the keyboard; and typing a call shows the signature with its parameters.
    editor.page.click("[data-testid=file-tab][data-file='main.py']")
    editor.type_at_end("helper(")
    signature = editor.page.locator(".cm-lsp-signature-tooltip")
    signature.wait_for(state="visible", timeout=DIAGNOSTIC_MS)
    assert "count" in signature.inner_text() and "label" in signature.inner_text()
    editor.page.screenshot(path=screenshot_path(request, "signature"))
    editor.page.keyboard.press("Escape")
    editor.page.keyboard.type("1, 'c')")
    editor.page.keyboard.press("Home")
    editor.page.keyboard.press("F12")
    editor.page.wait_for_function("() => window.padbox.pad().file === 'util.py'", timeout=DIAGNOSTIC_MS)


def test_a_killed_language_server_comes_back_and_the_page_shows_it(
    page: Page, server: ServerProcess, request: pytest.FixtureRequest
) -> None:
    editor = Person(page, "Eddie")
    created = create_pad(server.url, language="python", files=[{"name": "main.py", "content": BROKEN}])
    open_as(editor, created["links"]["edit"])
    editor.page.click("#editor .cm-content")
    wait_for_help(editor, "ready")
    wait_for_diagnostic(editor, "undefined_name")
    # Every state the indicator shows from now on, however briefly.
    editor.page.evaluate(
        """() => {
            const indicator = document.querySelector('[data-testid=pad-help]');
            window.helpStates = [];
            new MutationObserver(() => window.helpStates.push(indicator.dataset.state))
                .observe(indicator, {attributes: true, attributeFilter: ['data-state']});
        }"""
    )

    labels = [f"label=padbox.instance={server.instance}", f"label=padbox.session=lsp-{created['id']}"]
    found = subprocess.run(
        ["docker", "ps", "-q", *(arg for label in labels for arg in ("--filter", label))],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    assert len(found) == 1, f"the pad's language server is one container: {found}"
    killed = subprocess.run(["docker", "kill", *found], capture_output=True, text=True, timeout=60)
    assert killed.returncode == 0 and killed.stdout.strip(), killed.stderr

    # The page says the server is restarting, then ready again; the pad went on working meanwhile.
    editor.page.wait_for_function("() => window.helpStates.includes('restarting')", timeout=DIAGNOSTIC_MS)
    editor.type_at_end("import os\n")
    wait_for_help(editor, "ready")
    assert editor.page.evaluate("window.helpStates.lastIndexOf('ready') > window.helpStates.indexOf('restarting')")
    editor.type_at_end("os.pa")
    wait_for_completion(editor, "path")
    wait_for_diagnostic(editor, "undefined_name")
    editor.page.screenshot(path=screenshot_path(request, "after-restart"))


def test_a_definition_outside_the_pad_is_said_where_it_is(page: Page, server_url: str) -> None:
    editor = Person(page, "Eddie")
    source = '#include <stdio.h>\n\nint main(void) {\n    printf("hi\\n");\n    return 0;\n}\n'
    created = create_pad(server_url, language="c", files=[{"name": "main.c", "content": source}])
    open_as(editor, created["links"]["edit"])
    editor.page.click("#editor .cm-content")
    wait_for_help(editor, "ready")

    # The cursor on `printf` (Home goes to the line's first word), then F12.
    editor.page.locator("#editor .cm-line", has_text="printf").click()
    editor.page.keyboard.press("End")
    editor.page.keyboard.press("Home")
    editor.page.keyboard.press("F12")
    editor.page.wait_for_function(
        "() => document.getElementById('notice-text').textContent.includes('outside the pad')", timeout=DIAGNOSTIC_MS
    )
    assert "/usr/include/" in editor.page.inner_text("#notice-text")
    assert editor.state()["file"] == "main.c"

"""Shared runs in the web pad: the starter shares a live run, others open the link and see its code and terminal
as the starter does, at the same moment. Drivers type into it; viewers only watch. Each person is a browser
context of their own (their own storage), and each one's page is saved to tests/artifacts/ when the test ends."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Literal

import pytest
from playwright.sync_api import Browser, ViewportSize

from .conftest import LAPTOP, screenshot_path, watch_for_trouble
from .pad import Pad

pytestmark = [pytest.mark.browser, pytest.mark.docker]

GREETER = 'name = input("name? ")\nprint("Hello, " + name + "!")\n'
TABLET: ViewportSize = {"width": 768, "height": 1024}
LINK = re.compile(r"^http://127\.0\.0\.1:\d+/#(join|watch)=([0-9a-f]+)\.([A-Za-z0-9_-]{32})$")

People = Callable[..., Pad]

# Every text frame a page sends on any WebSocket, in window.sentFrames: a negative ("nothing was sent") is then read
# from the page itself instead of waited out with a sleep.
RECORD_SENT_FRAMES = """
window.sentFrames = [];
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  if (typeof data === "string") window.sentFrames.push(data);
  return send.call(this, data);
};
"""
Scheme = Literal["light", "dark"]


@pytest.fixture
def people(browser: Browser, server_url: str, request: pytest.FixtureRequest) -> Iterator[People]:
    """`people("starter")` opens the pad in a new person's browser, ready to run; `people("viewer", link=...)`
    opens a link there instead. Every page is saved as <test>-<who>.png at the end, and none may have thrown."""
    opened: list[tuple[str, Pad, list[str]]] = []

    def open_pad(who: str, link: str | None = None, viewport: ViewportSize = LAPTOP, scheme: Scheme = "light") -> Pad:
        context = browser.new_context(
            viewport=viewport, color_scheme=scheme, permissions=["clipboard-read", "clipboard-write"]
        )
        context.add_init_script(RECORD_SENT_FRAMES)
        page = context.new_page()
        errors: list[str] = []
        watch_for_trouble(page, errors)
        pad = Pad(page, server_url)
        opened.append((who, pad, errors))
        if link is None:
            return pad.open()
        page.goto(link)
        return pad

    yield open_pad
    try:
        for who, _, errors in opened:
            assert not errors, f"{who}'s page threw: {errors}"
    finally:
        for who, pad, _ in opened:
            try:
                pad.page.screenshot(path=screenshot_path(request, who))
            finally:
                pad.page.context.close()


def start_greeter(starter: Pad) -> None:
    starter.choose("python")
    starter.set_code(GREETER)
    starter.run()
    starter.wait_for_output("name?")


def test_a_driver_opened_from_the_share_link_sees_the_same_run_and_answers_it(
    people: People, request: pytest.FixtureRequest
) -> None:
    starter = people("starter")
    assert starter.page.is_disabled("#share"), "nothing to share before a run"
    start_greeter(starter)

    links = starter.share_links()
    driver_link, viewer_link = links["driver"], links["viewer"]
    joined, watched = LINK.match(driver_link), LINK.match(viewer_link)
    assert joined and watched, links
    assert (joined[1], watched[1]) == ("join", "watch")
    assert joined[2] == watched[2], "both links name the same run"
    assert joined[3] != watched[3], "each link carries its own key, so a watch link cannot be edited into a driving one"
    starter.page.click("[data-testid=copy-driver]")
    starter.page.wait_for_function("() => document.querySelector('[data-testid=copy-driver]').textContent === 'Copied'")
    assert starter.page.evaluate("navigator.clipboard.readText()") == driver_link
    starter.page.screenshot(path=screenshot_path(request, "starter-sharing"))
    starter.page.keyboard.press("Escape")
    assert starter.page.is_hidden("#share-panel")

    driver = people("driver", link=driver_link)
    driver.wait_for_shared("live")
    assert driver.banner() == "Driving a shared run"
    assert driver.code() == GREETER
    assert driver.page.inner_text("#file-name") == "main.py"
    assert driver.page.is_visible("#read-only")
    assert driver.page.is_disabled("#language") and driver.page.is_disabled("#run")
    assert driver.page.input_value("#language") == "python"
    # The prompt was printed before the driver came: the snapshot replays it.
    assert driver.wait_for_output("name?") == starter.terminal_text()
    for pad in (starter, driver):
        pad.wait_for_presence("2 drivers, 0 viewers")
    for who, pad in (("starter", starter), ("driver", driver)):
        pad.page.screenshot(path=screenshot_path(request, f"{who}-live"))

    # The code is the run's, not the driver's to change.
    driver.page.click(".cm-content")
    driver.page.keyboard.type("# scribble")
    assert driver.code() == GREETER

    driver.type_in_terminal("Ada\n")
    for pad in (starter, driver):
        pad.wait_for_output("Hello, Ada!")
        assert pad.wait_for_verdict() == "ok"
    assert driver.terminal_text() == starter.terminal_text()
    assert "name? Ada\nHello, Ada!" in driver.terminal_text()
    assert "exit 0" in driver.status_line()

    driver.wait_for_shared("ended")
    assert driver.banner() == "The shared run has ended"
    for pad in (starter, driver):
        assert pad.page.is_disabled("#share"), "an ended run has nothing to share"
        assert pad.presence() == ""


def test_a_viewer_watches_live_and_its_typing_goes_nowhere(people: People, request: pytest.FixtureRequest) -> None:
    starter = people("starter")
    start_greeter(starter)
    viewer_link = starter.share_links()["viewer"]
    starter.page.keyboard.press("Escape")

    viewer = people("viewer", link=viewer_link, viewport=TABLET, scheme="dark")
    viewer.wait_for_shared("live")
    assert viewer.banner() == "Watching a shared run"
    assert viewer.code() == GREETER
    assert viewer.page.is_disabled("#stop"), "only drivers may stop the program"
    for pad in (starter, viewer):
        pad.wait_for_presence("1 driver, 1 viewer")
    viewer.page.screenshot(path=screenshot_path(request, "viewer-live"))
    assert viewer.share_links() == {"viewer": viewer_link}, "a viewer passes on only the viewer link"
    viewer.page.keyboard.press("Escape")

    viewer.type_in_terminal("intruder\n")
    # xterm hands keys to the page synchronously, so a viewer's stdin frame would be recorded by now.
    sent = viewer.page.evaluate("window.sentFrames")
    assert sent and not [frame for frame in sent if '"stdin"' in frame], sent
    starter.type_in_terminal("Grace\n")
    for pad in (starter, viewer):
        pad.wait_for_output("Hello, Grace!")
        assert pad.wait_for_verdict() == "ok"
    assert "intruder" not in starter.terminal_text() and "intruder" not in viewer.terminal_text()
    assert viewer.terminal_text() == starter.terminal_text()
    assert viewer.notice() == "", "the viewer's typing is not even sent, so nothing is refused"


def test_a_driver_stops_the_shared_program_for_everyone(people: People) -> None:
    starter = people("starter")
    starter.choose("python")
    starter.set_code('print("looping", flush=True)\nwhile True:\n    pass\n')
    starter.run()
    starter.wait_for_output("looping")
    links = starter.share_links()
    starter.page.keyboard.press("Escape")
    viewer = people("viewer", link=links["viewer"])
    driver = people("driver", link=links["driver"])
    for pad in (viewer, driver):
        pad.wait_for_shared("live")
    starter.wait_for_presence("2 drivers, 1 viewer")

    driver.stop()
    for pad in (starter, viewer, driver):
        assert pad.wait_for_verdict(timeout=10_000) == "killed"
        pad.wait_until_idle()
    assert viewer.terminal_text() == starter.terminal_text()


def test_your_own_runs_link_pasted_into_your_own_pad_leaves_the_run_alone(people: People) -> None:
    starter = people("starter")
    start_greeter(starter)
    driver_link = starter.share_links()["driver"]
    starter.page.keyboard.press("Escape")
    starter.page.evaluate("(link) => { location.href = link; }", driver_link)
    starter.page.wait_for_function("() => document.getElementById('notice-text').textContent.includes('your own run')")
    assert starter.shared() is None
    assert starter.page.evaluate("location.hash") == ""
    starter.type_in_terminal("Mo\n")
    starter.wait_for_output("Hello, Mo!")
    assert starter.wait_for_verdict() == "ok"


def test_a_link_opened_in_your_own_pad_leaves_your_code_as_it_was(people: People) -> None:
    starter = people("starter")
    start_greeter(starter)
    driver_link = starter.share_links()["driver"]
    starter.page.keyboard.press("Escape")

    mine = 'print("my own work")\n'
    person = people("person")
    person.choose("python")
    person.type_code(mine)
    # Pasted into the address bar of the open pad: only the fragment changes, the page stays.
    person.page.evaluate("(link) => { location.href = link; }", driver_link)
    person.wait_for_shared("live")
    assert person.code() == GREETER
    starter.wait_for_presence("2 drivers, 0 viewers")

    person.page.click("#leave")
    assert person.shared() is None
    assert person.code() == mine
    assert person.page.is_enabled("#run") and person.page.is_enabled("#language")
    assert person.page.evaluate("location.hash") == ""
    assert person.page.evaluate("localStorage.getItem('padbox.code.python')") == mine
    starter.wait_for_presence("1 driver, 0 viewers")

    # The run went on without the person, and their own pad runs their own code.
    starter.type_in_terminal("Lin\n")
    starter.wait_for_output("Hello, Lin!")
    person.run()
    person.wait_for_output("my own work")
    assert person.wait_for_verdict() == "ok"


def test_an_expired_or_damaged_link_says_so_and_leads_back(people: People, server_url: str) -> None:
    starter = people("starter")
    start_greeter(starter)
    driver_link = starter.share_links()["driver"]
    starter.page.keyboard.press("Escape")
    starter.type_in_terminal("Bo\n")
    assert starter.wait_for_verdict() == "ok"

    late = people("late")
    late.page.goto(driver_link)
    late.wait_for_shared("missing")
    assert late.banner() == "No live run at this link"
    assert "does not lead to a live run" in late.notice()
    assert late.page.is_disabled("#share")
    late.page.click("#leave")
    assert late.shared() is None
    late.page.wait_for_function("() => window.padbox.language() !== null")
    assert late.page.is_enabled("#run")

    damaged = people("damaged")
    damaged.page.goto(server_url + "/#join=5ea288b4")
    damaged.wait_for_shared("missing")
    assert "incomplete or damaged" in damaged.notice()

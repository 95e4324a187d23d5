"""A pad from a question in the browser: the interviewer makes it, the candidate solves it in another browser
context, presses Run tests, and both see every case pass; the interviewer's Playback then shows the test run as a
marker with its summary (screenshots of both pages and of the playback in tests/artifacts/)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from .conftest import LAPTOP, screenshot_path, watch_for_trouble
from .pad import RUN_TIMEOUT_MS

SOLUTION = (
    Path(__file__).resolve().parents[2] / "server/padbox/questions/bank/two-sum/solutions/python/main.py"
).read_text()


@pytest.fixture
def two_pages(browser: Browser) -> Iterator[tuple[Page, Page]]:
    contexts = [browser.new_context(viewport=LAPTOP) for _ in range(2)]
    errors: list[str] = []
    pages = []
    for context in contexts:
        page = context.new_page()
        watch_for_trouble(page, errors)
        pages.append(page)
    yield pages[0], pages[1]
    for context in contexts:
        context.close()
    assert not errors, errors


def join(page: Page, link: str, name: str) -> None:
    page.goto(link)
    page.fill("#pad-name-input", name)
    page.click("[data-testid=pad-name-ok]")
    page.wait_for_function("() => window.padbox?.pad?.().synced === true", timeout=10_000)


def test_the_candidate_solves_a_question_and_both_see_every_case_pass(
    two_pages: tuple[Page, Page], server_url: str, request: pytest.FixtureRequest
) -> None:
    interviewer, candidate = two_pages
    created = httpx.post(f"{server_url}/api/v1/pads", json={"question": "two-sum", "language": "python"}, timeout=10)
    assert created.status_code == 201, created.text
    links = created.json()["links"]
    join(interviewer, links["owner"], "Ines")
    join(candidate, links["edit"], "Carl")
    for page in (interviewer, candidate):
        page.wait_for_selector("[data-testid=question-title]:has-text('Two Sum')")
        assert "indices" in page.inner_text("[data-testid=question-description]")
    assert "hidden case" in candidate.inner_text("[data-testid=pad-question]")
    assert "TODO" in candidate.evaluate("window.padbox.getCode()")

    candidate.click("#editor .cm-content")
    candidate.keyboard.press("ControlOrMeta+a")
    candidate.keyboard.press("Delete")
    candidate.keyboard.insert_text(SOLUTION)
    interviewer.wait_for_function("(t) => window.padbox.getCode().includes(t)", arg="seen[target - value]")

    candidate.click("[data-testid=run-tests]")
    for page in (interviewer, candidate):
        page.wait_for_selector("[data-testid=tests-summary]:has-text('5/5 passed')", timeout=RUN_TIMEOUT_MS)
        assert page.locator("[data-testid=test-result]").count() == 5
    assert candidate.locator("[data-testid=test-result]:has-text('hidden 4')").count() == 1
    assert interviewer.locator("[data-testid=test-result]:has-text('hidden-4')").count() == 1
    interviewer.screenshot(path=str(screenshot_path(request, "interviewer")), full_page=True)
    candidate.screenshot(path=str(screenshot_path(request, "candidate")), full_page=True)

    # The interviewer's Playback shows the test run on the timeline, with its summary line.
    interviewer.click("[data-testid=pad-playback-button]")
    marker = interviewer.locator("[data-testid=playback-test-marker]")
    marker.wait_for(timeout=10_000)
    assert marker.count() == 1 and marker.inner_text() == "5/5 passed"
    assert interviewer.evaluate("window.padbox.playback().testRuns") == ["5/5 passed"]
    marker.click()
    shown = interviewer.inner_text("[data-testid=playback-output]")
    assert "Carl ran the tests (python): 5/5 passed" in shown and "hidden-4" in shown
    interviewer.locator("[data-testid=pad-playback]").screenshot(path=str(screenshot_path(request, "playback")))

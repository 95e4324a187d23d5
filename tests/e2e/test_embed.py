"""The embeddable pad (docs/embed.md) in a real browser: a page on another loopback origin frames /embed/p/<id>,
runs it over postMessage and hears the verdict; a site not in PADBOX_EMBED_ORIGINS cannot frame it, and no other
page of padbox can be framed at all, not even by an allowed site. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page

from tests.conftest import REPO, ServerProcess, instance_name, start_server

from .conftest import LAPTOP, screenshot_path
from .embedder import embedder
from .pad import RUN_TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.docker]

READY_MS = 20_000
PROGRAM = 'print("hello from the embed")\nraise SystemExit(3)\n'


@pytest.fixture(scope="module")
def allowed_site() -> Iterator[str]:
    with embedder() as origin:
        yield origin


@pytest.fixture(scope="module")
def other_site() -> Iterator[str]:
    with embedder() as origin:
        yield origin


@pytest.fixture(scope="module")
def padbox(tmp_path_factory: pytest.TempPathFactory, allowed_site: str) -> Iterator[ServerProcess]:
    """A server that lets `allowed_site` (and only it) frame its embed page."""
    srv = start_server(
        tmp_path_factory.mktemp("embed"),
        instance_name("pytest-embed"),
        PADBOX_EMBED_ORIGINS=allowed_site,
        PADBOX_POOL_SIZE="0",
        PADBOX_SESSIONS_PER_MINUTE="100000",
    )
    yield srv
    srv.stop()


@pytest.fixture
def site_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[tuple[Page, list[str]]]:
    """A fresh browser page and the CSP complaints its console shows (every frame's); a screenshot at the end,
    and no frame may throw."""
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    complaints: list[str] = []
    errors: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            complaints.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page, complaints
        assert not errors, f"a page threw: {errors}"
    finally:
        try:
            page.screenshot(path=screenshot_path(request))
        finally:
            context.close()


def create_pad(base_url: str) -> dict[str, Any]:
    files = [{"name": "main.py", "content": PROGRAM}]
    body = {"language": "python", "files": files, "title": "Embedded"}
    created: dict[str, Any] = httpx.post(base_url + "/api/v1/pads", json=body, timeout=10).raise_for_status().json()
    return created


def embedding_url(site: str, pad_base: str, pad_id: str, key: str, intruder: str = "") -> str:
    src = f"{pad_base}/embed/p/{pad_id}#key={key}&name=Ada"
    url = f"{site}/?src={quote(src, safe='')}"
    return url + (f"&intruder={quote(intruder, safe='')}" if intruder else "")


def wait_for_event(page: Page, kind: str, timeout: float = RUN_TIMEOUT_MS, **fields: object) -> dict[str, Any]:
    """The first event of type `kind` (with these field values) the embedding page received."""
    predicate = """([kind, fields]) => window.received.find(
        (m) => m.type === kind && Object.entries(fields).every(([k, v]) => m[k] === v))"""
    handle = page.wait_for_function(predicate, arg=[kind, fields], timeout=timeout)
    event: dict[str, Any] = handle.json_value()
    return event


def test_another_site_runs_the_pad_over_postmessage_and_hears_the_verdict(
    site_page: tuple[Page, list[str]], padbox: ServerProcess, allowed_site: str, request: pytest.FixtureRequest
) -> None:
    page, complaints = site_page
    pad = create_pad(padbox.url)
    page.goto(embedding_url(allowed_site, padbox.url, pad["id"], pad["keys"]["edit"]))
    ready = wait_for_event(page, "ready", READY_MS)
    assert ready == {
        "padbox": 1,
        "type": "ready",
        "role": "edit",
        "language": "python",
        "ended": False,
        "can_run": True,
    }
    frame = page.frame_locator("#pad")
    assert frame.locator("#editor").is_visible() and frame.locator("#run").is_visible()
    assert frame.locator("#language").is_visible() and frame.locator("#terminal").is_visible()
    assert not frame.locator("[data-testid=pad-end]").is_visible(), "no owner's tools in an embed"
    assert not frame.locator("[data-testid=pad-name-dialog]").is_visible(), "nobody is asked for a name"

    page.evaluate("window.sentAt = performance.now(); window.send({padbox: 1, type: 'run', id: 'first'})")
    started = wait_for_event(page, "run_started")
    assert started["by"] == "Ada" and started["run_id"]
    finished = wait_for_event(page, "run_finished", run_id=started["run_id"])
    took = page.evaluate("performance.now() - window.sentAt")
    print(f"embed: run command to run_finished heard by the embedder: {took:.0f} ms (no warm pool)")
    assert (finished["verdict"], finished["exit_code"]) == ("runtime_error", 3), finished
    page.frame_locator("#pad").locator("#terminal").get_by_text("hello from the embed").wait_for()
    page.screenshot(path=screenshot_path(request, "ran"))

    # A command the pad does not know is answered with an error, and the pad carries on.
    page.evaluate("window.send({padbox: 1, type: 'delete_everything', id: 7})")
    error = wait_for_event(page, "error", id=7)
    assert (error["code"], error["command"]) == ("unknown_command", "delete_everything")
    page.evaluate("window.send({type: 'run'})")
    assert wait_for_event(page, "error", code="unsupported_version")["message"]
    page.evaluate("window.send({padbox: 1, type: 'set_language', language: 'cobol-2099', id: 'bad'})")
    assert wait_for_event(page, "error", id="bad")["code"] == "unknown_language"
    page.evaluate("window.send({padbox: 1, type: 'stop', id: 'idle'})")
    assert wait_for_event(page, "error", id="idle")["code"] == "not_running"

    page.evaluate("window.send({padbox: 1, type: 'set_language', language: 'javascript'})")
    assert wait_for_event(page, "language_changed")["language"] == "javascript"
    page.main_frame.child_frames[0].wait_for_function("() => window.padbox.pad().language === 'javascript'")

    # The owner ends the pad elsewhere: the embedder hears it, and the pad no longer runs.
    end = httpx.post(f"{padbox.url}/api/v1/pads/{pad['id']}/end", params={"key": pad["keys"]["owner"]}, timeout=10)
    end.raise_for_status()
    wait_for_event(page, "pad_ended")
    page.evaluate("window.send({padbox: 1, type: 'run', id: 'late'})")
    assert wait_for_event(page, "error", id="late")["code"] == "forbidden"

    assert not complaints, f"the embed page broke its own CSP: {complaints}"


def test_the_embedder_hears_the_tests_verdict_when_the_candidate_runs_the_tests(
    site_page: tuple[Page, list[str]], padbox: ServerProcess, allowed_site: str, request: pytest.FixtureRequest
) -> None:
    page, complaints = site_page
    solution = (REPO / "server/padbox/questions/bank/binary-search/solutions/python/main.py").read_text()
    body = {"question": "binary-search", "language": "python", "files": [{"name": "main.py", "content": solution}]}
    pad = httpx.post(padbox.url + "/api/v1/pads", json=body, timeout=10).raise_for_status().json()
    page.goto(embedding_url(allowed_site, padbox.url, pad["id"], pad["keys"]["edit"]))
    wait_for_event(page, "ready", READY_MS)
    frame = page.frame_locator("#pad")
    frame.locator("[data-testid=question-title]").filter(has_text="Binary").wait_for()
    frame.locator("[data-testid=run-tests]").click()
    finished = wait_for_event(page, "tests_finished", timeout=2 * RUN_TIMEOUT_MS)
    assert finished["passed"] == finished["total"] == 5, finished
    frame.locator("[data-testid=tests-summary]").filter(has_text="5").wait_for()
    page.screenshot(path=screenshot_path(request, "tests"))
    assert not complaints


def test_a_view_key_in_an_embed_cannot_run(
    site_page: tuple[Page, list[str]], padbox: ServerProcess, allowed_site: str
) -> None:
    page, complaints = site_page
    pad = create_pad(padbox.url)
    page.goto(embedding_url(allowed_site, padbox.url, pad["id"], pad["keys"]["view"]))
    assert wait_for_event(page, "ready", READY_MS)["can_run"] is False
    page.evaluate("window.send({padbox: 1, type: 'run', id: 'r'})")
    assert wait_for_event(page, "error", id="r")["code"] == "forbidden"
    page.evaluate("window.send({padbox: 1, type: 'set_language', language: 'javascript', id: 'l'})")
    assert wait_for_event(page, "error", id="l")["code"] == "forbidden"
    runs = httpx.get(f"{padbox.url}/api/v1/pads/{pad['id']}/history", params={"key": pad["keys"]["owner"]}).json()
    assert runs["runs"] == []
    assert not complaints


def test_a_window_other_than_the_allowed_parent_is_not_answered(
    site_page: tuple[Page, list[str]], padbox: ServerProcess, allowed_site: str, other_site: str
) -> None:
    """A frame from another origin beside the pad posts `run` to it: the pad ignores it (the parent's own command,
    sent after, is the marker that the intruder's was read and dropped)."""
    page, _ = site_page
    pad = create_pad(padbox.url)
    intruder = f"{other_site}/intruder"
    page.goto(embedding_url(allowed_site, padbox.url, pad["id"], pad["keys"]["edit"], intruder))
    wait_for_event(page, "ready", READY_MS)
    page.wait_for_function("() => window.intruderListening")
    page.evaluate("window.intrude()")
    page.wait_for_function("() => window.intruded")
    page.evaluate("window.send({padbox: 1, type: 'stop', id: 'marker'})")
    assert wait_for_event(page, "error", id="marker")["code"] == "not_running"
    assert page.frame_locator("#pad").locator("#status").inner_text() == "ready", "the intruder's run was taken"
    assert not [m for m in page.evaluate("window.received") if m["type"] == "run_started"]


def test_a_site_that_is_not_allowed_cannot_frame_the_embed_page(
    site_page: tuple[Page, list[str]], padbox: ServerProcess, other_site: str, request: pytest.FixtureRequest
) -> None:
    page, _ = site_page
    pad = create_pad(padbox.url)
    with page.expect_console_message(lambda m: "frame-ancestors" in m.text, timeout=READY_MS) as blocked:
        page.goto(embedding_url(other_site, padbox.url, pad["id"], pad["keys"]["edit"]))
    assert "violates the following Content Security Policy directive" in blocked.value.text
    assert padbox.url in blocked.value.text
    (child,) = page.main_frame.child_frames
    assert child.url.startswith("chrome-error://"), f"the pad loaded in a frame of {other_site}: {child.url}"
    assert page.evaluate("window.received") == []
    page.screenshot(path=screenshot_path(request, "blocked"))


@pytest.mark.parametrize("path", ["/p/{id}", "/", "/api/v1/pads/{id}"])
def test_no_other_page_can_be_framed_even_by_an_allowed_site(
    site_page: tuple[Page, list[str]], padbox: ServerProcess, allowed_site: str, path: str
) -> None:
    page, _ = site_page
    pad = create_pad(padbox.url)
    src = padbox.url + path.format(id=pad["id"]) + f"#key={pad['keys']['owner']}"
    with page.expect_console_message(lambda m: "frame-ancestors 'none'" in m.text, timeout=READY_MS):
        page.goto(f"{allowed_site}/?src={quote(src, safe='')}")
    (child,) = page.main_frame.child_frames
    assert child.url.startswith("chrome-error://"), f"{path} loaded in a frame of {allowed_site}"

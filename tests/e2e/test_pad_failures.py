"""What the pad says when things go wrong, and that Run works again afterwards without a reload.
Playwright stages each failure between page and server once; the next run goes through to the real server."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, WebSocketRoute

from .pad import Pad

pytestmark = [pytest.mark.browser, pytest.mark.docker]


def fail_first_socket(page: Page, failure: Callable[[WebSocketRoute], None]) -> None:
    """The first /ws connection meets `failure`; later ones are passed through to the server untouched."""
    connections = 0

    def handle(ws: WebSocketRoute) -> None:
        nonlocal connections
        connections += 1
        if connections == 1:
            failure(ws)
        else:
            ws.connect_to_server()

    page.route_web_socket("**/ws", handle)


def test_unreachable_server_is_reported_and_the_pad_recovers(page: Page, server_url: str) -> None:
    page.route("**/api/v1/languages", lambda route: route.abort("connectionrefused"))
    pad = Pad(page, server_url)
    page.goto(server_url + "/")
    page.wait_for_function("() => document.getElementById('notice-text').textContent.includes('Cannot reach')")
    assert "offline" in pad.status_line()

    page.unroute("**/api/v1/languages")
    page.wait_for_function("() => window.padbox.language() !== null", timeout=15_000)
    assert pad.notice() == ""


def test_connection_dropping_mid_run_is_reported_and_run_works_again(pad: Pad) -> None:
    def drop_after_output(ws: WebSocketRoute) -> None:
        def on_message(message: str | bytes) -> None:
            if json.loads(message)["type"] == "run":
                for frame in (
                    {"type": "started", "id": "fake", "language": "python", "version": "3"},
                    {"type": "stage", "stage": "run"},
                    {"type": "stdout", "stage": "run", "data": "partial output\r\n"},
                ):
                    ws.send(json.dumps(frame))
                ws.close(code=1011, reason="")

        ws.on_message(on_message)

    fail_first_socket(pad.page, drop_after_output)
    pad.choose("python")
    pad.set_code('print("hello again")\n')
    pad.run()
    pad.wait_for_output("partial output")
    pad.page.wait_for_function("() => document.getElementById('notice-text').textContent.includes('dropped')")
    assert "disconnected" in pad.status_line()
    assert "[connection lost]" in pad.terminal_text()
    assert pad.page.is_disabled("#stop")

    pad.run()
    pad.wait_for_output("hello again")
    assert pad.wait_for_verdict() == "ok"
    assert pad.notice() == ""


def test_server_error_is_shown_and_run_works_again(pad: Pad) -> None:
    def busy(ws: WebSocketRoute) -> None:
        def on_message(_message: str | bytes) -> None:
            ws.send(json.dumps({"type": "error", "code": "busy", "message": "too many runs at once"}))
            ws.close(code=1000)

        ws.on_message(on_message)

    fail_first_socket(pad.page, busy)
    pad.choose("python")
    pad.set_code('print("after busy")\n')
    pad.run()
    pad.page.wait_for_function("() => document.getElementById('notice-text').textContent.includes('too many runs')")
    assert "busy" in pad.notice()
    assert "error" in pad.status_line()

    pad.run()
    pad.wait_for_output("after busy")
    assert pad.wait_for_verdict() == "ok"
    assert pad.notice() == ""

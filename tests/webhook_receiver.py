"""A webhook receiver on loopback for the tests: it records every POST (headers and body) and answers as the test
scripts it (a status per attempt, or holding a request open until released). A thread, so a server under test
posts to it while the test's own event loop waits."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    fail_next: int = 0  # this many requests from now are answered 500, then 200 again
    hold_first: threading.Event | None = None  # set: lets go the request being held
    hold_matching: bytes | None = None  # the first request whose body holds this waits for `hold_first`
    arrived: threading.Event = field(default_factory=threading.Event)

    def of_delivery(self, delivery_id: str) -> list[Received]:
        return [r for r in self.received if r.headers.get("Padbox-Delivery") == delivery_id]


@contextmanager
def receiver(hold_first: bool = False) -> Iterator[Receiver]:
    state = Receiver("", hold_first=threading.Event() if hold_first else None)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                state.received.append(Received({k: v for k, v in self.headers.items()}, body))
                state.arrived.set()
                status = 500 if state.fail_next > 0 else 200
                state.fail_next = max(0, state.fail_next - 1)
                held = state.hold_matching is not None and state.hold_matching in body
                if held:
                    state.hold_matching = None  # once
            if held and state.hold_first is not None:
                state.hold_first.wait(120)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/padbox"
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        if state.hold_first is not None:
            state.hold_first.set()
        server.shutdown()
        server.server_close()

"""Another site, for the embed tests: a tiny HTTP server on its own loopback port (so its own origin) serving a
page that frames a padbox pad and talks to it over postMessage, as docs/embed.md's example does.

`/?src=<embed URL>[&intruder=<URL>]`: the embedding page. It records every message from the pad's origin in
`window.received` and sends commands with `window.send(command)`. With `intruder`, it also frames that page (served
by another embedder, so from another origin), which posts a command to the pad frame behind the parent's back when
`window.intrude()` tells it to.
`/intruder?pad=<origin>`: that intruding page.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

EMBEDDING_PAGE = """<!doctype html>
<html lang="en"><meta charset="utf-8"><title>An applicant tracking system</title>
<body style="font-family: sans-serif; margin: 8px">
<h1 style="font-size: 16px">Candidate: Ada (interview pad below)</h1>
<iframe id="pad" title="padbox" src="{src}" style="width: 100%; height: 560px; border: 1px solid #888"></iframe>
{intruder}
<script>
  const frame = document.getElementById("pad");
  const padOrigin = new URL(frame.src).origin;
  window.received = [];
  window.intruded = false;
  addEventListener("message", (event) => {{
    if (event.origin === padOrigin && event.data && event.data.padbox === 1) window.received.push(event.data);
    else if (event.data === "intruder listening") window.intruderListening = true;
    else if (event.data === "intruder sent") window.intruded = true;
  }});
  window.send = (command) => frame.contentWindow.postMessage(command, padOrigin);
  window.intrude = () => frames[1].postMessage("go", "*");
</script>
</body></html>
"""

INTRUDER_PAGE = """<!doctype html>
<html lang="en"><meta charset="utf-8"><title>intruder</title><body>intruder
<script>
  addEventListener("message", (event) => {
    if (event.source !== parent || event.data !== "go") return;
    parent.frames[0].postMessage({padbox: 1, type: "run"}, "*");
    parent.postMessage("intruder sent", "*");
  });
  parent.postMessage("intruder listening", "*");
</script>
</body></html>
"""


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        url = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        if url.path == "/":
            intruder = query.get("intruder")
            frame = f'<iframe title="intruder" src="{html.escape(intruder)}"></iframe>' if intruder else ""
            body = EMBEDDING_PAGE.format(src=html.escape(query.get("src", "about:blank")), intruder=frame)
        elif url.path == "/intruder":
            body = INTRUDER_PAGE
        else:
            self.send_error(404)
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def embedder() -> Iterator[str]:
    """A site serving the embedding pages on a loopback port of its own; yields its origin."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="embedder", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)

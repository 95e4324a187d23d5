"""Security headers on every HTTP response: a Content-Security-Policy, framing rules and `nosniff`.

One ASGI middleware around the whole app, so no route (page, API, static file, a 404 or 405) can be left out: a
guard in one place every path goes through. Which headers a path gets is a pure function (`headers_for`), tested
without a server. The embed page (`/embed/p/<id>`, docs/embed.md) is the one page another site may frame, and only
the origins in PADBOX_EMBED_ORIGINS; every other response refuses every frame (`frame-ancestors 'none'`, and
`X-Frame-Options: DENY` for browsers that predate CSP's framing rules).
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EMBED_PREFIX = "/embed/"

# What the page needs, and no more. Scripts: the bundle's own files only, never inline (index.html has no inline
# script, and eval is never allowed). Sockets: 'self' covers ws:/wss: to the page's own host (CSP Level 3).
# Styles are the one exception: 'unsafe-inline' for style-src, because CodeMirror (style-mod) and xterm.js write
# <style> elements and style attributes while they run, and the pad sets per-person colours (`style.setProperty`);
# a style cannot run code, and scripts stay strict. Images: the bundle's and data: (the page's empty favicon).
BASE_POLICY: tuple[str, ...] = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
)


def frame_ancestors(path: str, embed_origins: Sequence[str]) -> str:
    """Who may frame the response at `path`: the embed origins for the embed page, else nobody."""
    if path.startswith(EMBED_PREFIX) and embed_origins:
        return "frame-ancestors " + " ".join(embed_origins)
    return "frame-ancestors 'none'"


def headers_for(path: str, embed_origins: Sequence[str]) -> dict[str, str]:
    """The security headers of a response to `path`. `embed_origins` are already checked origins
    (config.frame_origins): nothing in them can add a directive."""
    headers = {
        "Content-Security-Policy": "; ".join((*BASE_POLICY, frame_ancestors(path, embed_origins))),
        "X-Content-Type-Options": "nosniff",
    }
    if not path.startswith(EMBED_PREFIX):
        # An old browser that ignores frame-ancestors still refuses. The embed page sends none: DENY would
        # block its allowed embedders, and ALLOW-FROM is obsolete (a modern browser obeys the CSP alone).
        headers["X-Frame-Options"] = "DENY"
    return headers


class SecurityHeaders:
    """ASGI middleware: add `headers_for` to every HTTP response (WebSockets pass through untouched)."""

    def __init__(self, app: ASGIApp, embed_origins: Sequence[str] = ()) -> None:
        self.app = app
        self.embed_origins = tuple(embed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope.get("path", ""), self.embed_origins)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value  # replaces any a route set: the policy is decided here only
            await send(message)

        await self.app(scope, receive, send_with_headers)

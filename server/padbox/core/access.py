"""Who may start runs: API tokens, the browser Origin allowlist, and per-client caps.

Pure decisions (no I/O), shared by every transport: the WebSocket endpoint and the HTTP API
ask the same questions here, so a guard cannot exist on one path and not the other.
"""

from __future__ import annotations

import hmac
import logging
import math
import re
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from padbox.core.capacity import Busy
from padbox.core.protocol import ErrorCode, ProtocolError

TOKEN_SUBPROTOCOL_PREFIX = "padbox.token."
RATE_WINDOW_S = 60.0


def load_tokens(inline: str, file: str) -> tuple[str, ...]:
    """Tokens from PADBOX_TOKENS (comma-separated) and PADBOX_TOKENS_FILE (one per line, # comments)."""
    tokens = [t.strip() for t in inline.split(",")]
    if file:
        tokens += [line.split("#", 1)[0].strip() for line in Path(file).read_text().splitlines()]
    return tuple(t for t in tokens if t)


def token_from(query: Mapping[str, str], headers: Mapping[str, str]) -> str | None:
    """A token from `?token=`, `Authorization: Bearer`, or a `padbox.token.<token>` WebSocket subprotocol
    (browsers cannot set headers on a WebSocket)."""
    if query.get("token"):
        return query["token"]
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    for proto in token_subprotocols(headers):
        return proto[len(TOKEN_SUBPROTOCOL_PREFIX) :]
    return None


def token_subprotocols(headers: Mapping[str, str]) -> list[str]:
    offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")]
    return [p for p in offered if p.startswith(TOKEN_SUBPROTOCOL_PREFIX)]


class TokenRefused(ProtocolError):
    """No valid token (HTTP answers 401)."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.UNAUTHORIZED, message)


class OriginRefused(ProtocolError):
    """A browser page from another origin (HTTP answers 403)."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.FORBIDDEN_ORIGIN, message)


@dataclass(frozen=True)
class AccessPolicy:
    tokens: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()  # empty: same origin only; "*": any

    def check_token(self, provided: str | None) -> None:
        """Raise TokenRefused unless tokens are off or `provided` is one (compared in constant time)."""
        if not self.tokens:
            return
        candidate = (provided or "").encode()
        # Compare against every token, always: the time taken says nothing about which one matched.
        matched = False
        for token in self.tokens:
            matched |= hmac.compare_digest(candidate, token.encode())
        if not matched:
            raise TokenRefused(
                "a valid API token is required (query parameter 'token', a Bearer header, "
                f"or the WebSocket subprotocol '{TOKEN_SUBPROTOCOL_PREFIX}<token>')"
            )

    def check_origin(self, origin: str | None, host: str | None) -> None:
        """Refuse cross-site WebSockets unless allowed: a page elsewhere must not drive a visitor's runs."""
        if origin is None or "*" in self.allowed_origins:
            return  # not a browser, or the operator allows everyone
        if origin.rstrip("/") in self.allowed_origins:
            return
        if host is not None and urlsplit(origin).netloc == host:
            return
        raise OriginRefused(f"origin {origin!r} is not allowed to open sessions here")

    def authorize(self, query: Mapping[str, str], headers: Mapping[str, str], address: str | None) -> str:
        """Every transport's one question at the door: origin, then token. Returns the client's identity
        for per-client caps; raises OriginRefused or TokenRefused."""
        self.check_origin(headers.get("origin"), headers.get("host"))
        token = token_from(query, headers)
        self.check_token(token)
        return client_identity(token, address, bool(self.tokens))


class ClientBusy(Busy):
    """Refused by this client's own caps, not the server's capacity (over HTTP: 429 rather than 503)."""


class ClientCaps(Protocol):
    """Per-client caps as the runner asks for them: held for a session's whole life. ClientLimiter keeps them in
    this process; the cluster's keeps them in Redis, so they hold across every node."""

    def admitted(self, client: str, lease: str, rated: bool = True) -> AbstractAsyncContextManager[None]:
        """Count one session of `client` (its `lease`, unique) while inside; ClientBusy when over a cap. Unrated:
        the session holds a running slot but is no new start (a case of a test run counted by `count_start`)."""
        ...

    async def count_start(self, client: str, start: str) -> None:
        """Count one start (`start`, unique) against the per-minute rate alone, or ClientBusy: a test run's."""
        ...


@dataclass
class ClientLimiter:
    """Per-client caps in this process: sessions at once, and new sessions per minute (a sliding window)."""

    max_concurrent: int
    per_minute: int
    running: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    recent: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def admit(self, client: str, now: float | None = None, rated: bool = True) -> None:
        """Count a new session for `client` (a start too, when `rated`), or raise ClientBusy with a retry hint."""
        if self.running.get(client, 0) >= self.max_concurrent:  # get: a refused client leaves no entry behind
            raise ClientBusy(f"this client already has {self.max_concurrent} sessions running; end one first", 1)
        if rated:
            self.start(client, now)
        self.running[client] += 1

    def start(self, client: str, now: float | None = None) -> None:
        """Count a start against the per-minute rate, or raise ClientBusy with a retry hint."""
        now = time.monotonic() if now is None else now
        window = self.recent[client]
        while window and window[0] <= now - RATE_WINDOW_S:
            window.popleft()
        if len(window) >= self.per_minute:
            wait = math.ceil(window[0] + RATE_WINDOW_S - now)
            raise ClientBusy(f"this client started {self.per_minute} sessions in the last minute", wait)
        window.append(now)

    @asynccontextmanager
    async def admitted(self, client: str, lease: str = "", rated: bool = True) -> AsyncIterator[None]:
        self.admit(client, rated=rated)
        try:
            yield
        finally:
            self.release(client)

    async def count_start(self, client: str, start: str = "") -> None:
        self.start(client)

    def release(self, client: str) -> None:
        self.running[client] -= 1
        if self.running[client] <= 0:
            del self.running[client]
            if not self.recent.get(client):
                self.recent.pop(client, None)


class RedactTokens(logging.Filter):
    """Log lines never carry a token: `token=...` in any logged URL becomes `token=REDACTED`.

    The token is replaced inside the record's arguments, which stay a tuple: uvicorn's access formatter unpacks
    them (client, method, path, version, status), and a record whose arguments were folded into its message made
    it fail ("--- Logging error ---") for a page fetched with `?token=`."""

    pattern = re.compile(r"(token=)[^&\s\"']+")

    def _redact(self, value: object) -> object:
        return self.pattern.sub(r"\1REDACTED", value) if isinstance(value, str) and "token=" in value else value

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self._redact(arg) for arg in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {key: self._redact(arg) for key, arg in record.args.items()}
        return True


def client_identity(token: str | None, address: str | None, tokens_enabled: bool) -> str:
    """Caps count per token when tokens are on (many users may share an address), else per address."""
    if tokens_enabled and token:
        return "token:" + hmac.new(b"padbox", token.encode(), "sha256").hexdigest()[:16]
    return "ip:" + (address or "unknown")

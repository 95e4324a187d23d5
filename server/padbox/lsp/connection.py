"""One running language server: its JSON-RPC conversation over a sandbox's channel.

Everything for the server goes through one queue drained by one writer, so the order of file writes, didChange
notifications and requests is the order they were made in, and nobody who queues (an edit above all) ever waits
for the server. A request unanswered within the deadline marks the server hung: its sandbox is closed, and the
session's supervisor restarts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from typing import Any

from padbox.lsp.channel import Channel
from padbox.lsp.documents import ROOT_URI

log = logging.getLogger("padbox.lsp")

QUEUE_LIMIT = 10_000  # commands waiting for a server that stopped reading: past it the server is deemed hung

Notify = Callable[[dict[str, Any]], None]


class ServerError(Exception):
    """The language server answered a request with an error, or ended before answering."""


class Connection:
    def __init__(self, channel: Channel, deadline_s: float, settings: dict[str, Any], on_message: Notify) -> None:
        self.channel = channel
        self.deadline_s = deadline_s
        self.settings = settings
        self.on_message = on_message  # the server's own notifications (diagnostics)
        self._queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._ended = asyncio.get_running_loop().create_future()
        self._tasks = [
            asyncio.get_running_loop().create_task(self._write(), name=f"lsp-write-{channel.name}"),
            asyncio.get_running_loop().create_task(self._read(), name=f"lsp-read-{channel.name}"),
        ]

    @property
    def name(self) -> str:
        return self.channel.name

    def queue(self, command: dict[str, Any]) -> None:
        """A command for the shim, in order; never waits."""
        if self._ended.done():
            return
        if self._queue.qsize() >= QUEUE_LIMIT:
            self.end("it stopped reading its input")
            return
        self._queue.put_nowait(command)

    def notify(self, method: str, params: Any) -> None:
        self.queue({"lsp": {"jsonrpc": "2.0", "method": method, "params": params}})

    async def request(self, method: str, params: Any, deadline_s: float | None = None) -> Any:
        """The server's answer; ServerError for its error or its end; a missed deadline ends it as hung."""
        if self._ended.done():
            raise ServerError("the language server has ended")
        ident = next(self._ids)
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[ident] = answer
        self.queue({"lsp": {"jsonrpc": "2.0", "id": ident, "method": method, "params": params}})
        limit = self.deadline_s if deadline_s is None else deadline_s
        try:
            return await asyncio.wait_for(asyncio.shield(answer), limit)
        except TimeoutError:
            self.end(f"it did not answer {method} within {limit:g} s")
            raise ServerError("the language server did not answer in time") from None
        finally:
            self._pending.pop(ident, None)

    async def initialize(self) -> None:
        """LSP's handshake, with the client capabilities a page's requests rely on."""
        params = {
            "processId": None,
            "rootUri": ROOT_URI,
            "rootPath": "/work",
            "workspaceFolders": [{"uri": ROOT_URI, "name": "work"}],
            "capabilities": CLIENT_CAPABILITIES,
            "initializationOptions": {},
        }
        await self.request("initialize", params)
        self.notify("initialized", {})
        if self.settings:
            self.notify("workspace/didChangeConfiguration", {"settings": self.settings})

    async def ended(self) -> str:
        """Why the server ended (its sandbox exited, ran out of memory, or was judged hung)."""
        return await asyncio.shield(self._ended)

    def end(self, why: str) -> None:
        """Stop talking to it and remove its sandbox; every request waiting fails."""
        if not self._ended.done():
            self._ended.set_result(why)
        self.channel.close()
        self._queue.put_nowait(None)
        for answer in self._pending.values():
            if not answer.done():
                answer.set_exception(ServerError(f"the language server ended: {why}"))
        self._pending.clear()

    async def close(self) -> None:
        self.end("stopped")
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _write(self) -> None:
        while (command := await self._queue.get()) is not None:
            try:
                await self.channel.send(command)
            except OSError as exc:
                self.end(f"its input broke ({exc})")
                return

    async def _read(self) -> None:
        code: int | None = None
        while (message := await self.channel.receive()) is not None:
            if "exit" in message:
                code = message["exit"] if isinstance(message["exit"], int) else None
                break
            body = message.get("lsp")
            if isinstance(body, dict):
                self._handle(body)
        if not self._ended.done():
            self.end(await self.channel.why_ended(code))

    def _handle(self, body: dict[str, Any]) -> None:
        method, ident = body.get("method"), body.get("id")
        if isinstance(method, str):
            if ident is not None:  # the server asks the client something: answered at once
                self.queue({"lsp": {"jsonrpc": "2.0", "id": ident, "result": self._answer(method, body.get("params"))}})
            else:
                self.on_message(body)
            return
        answer = self._pending.get(ident) if isinstance(ident, int) else None
        if answer is None or answer.done():
            return
        if "error" in body:
            error = body["error"] if isinstance(body["error"], dict) else {}
            answer.set_exception(ServerError(str(error.get("message", "error"))))
        else:
            answer.set_result(body.get("result"))

    def _answer(self, method: str, params: Any) -> Any:
        """The client's side of the server's own requests: its settings for workspace/configuration, null else
        (registrations, progress tokens: nothing a padbox client needs to act on)."""
        if method == "workspace/configuration" and isinstance(params, dict):
            items = params.get("items")
            if not isinstance(items, list):
                return None
            sections = [str(item.get("section", "")) if isinstance(item, dict) else "" for item in items]
            return [self.settings.get(section.split(".")[0]) for section in sections]
        return None


CLIENT_CAPABILITIES: dict[str, Any] = {
    "general": {"positionEncodings": ["utf-16"]},
    "textDocument": {
        "synchronization": {"didSave": False, "dynamicRegistration": False},
        "completion": {
            "completionItem": {
                "snippetSupport": False,
                "documentationFormat": ["markdown", "plaintext"],
                "insertReplaceSupport": False,
            },
            "contextSupport": True,
        },
        "hover": {"contentFormat": ["markdown", "plaintext"]},
        "signatureHelp": {
            "signatureInformation": {
                "documentationFormat": ["markdown", "plaintext"],
                "parameterInformation": {"labelOffsetSupport": True},
            }
        },
        "definition": {"linkSupport": False},
        "documentHighlight": {},
        "publishDiagnostics": {"relatedInformation": False, "versionSupport": True},
    },
    "workspace": {"configuration": True, "workspaceFolders": True},
    "window": {"workDoneProgress": False},
}

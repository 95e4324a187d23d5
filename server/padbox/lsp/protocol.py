"""The language-help socket's messages (the contract in docs/pads.md, "Language help"): pure functions, so every
rule is tested without a socket or a language server.

Each socket frame is one JSON-RPC 2.0 message. The page asks; padbox answers `initialize` itself, refuses by role
and state, checks the document hash, and relays the rest to the pad's one language server.
"""

from __future__ import annotations

import enum
import json
import struct
from dataclasses import dataclass
from typing import Any

from padbox.pads.model import PadRole

# JSON-RPC error codes of the contract (-32001..-32004 are padbox's own, in JSON-RPC's server range).
METHOD_NOT_FOUND = -32601
INVALID_REQUEST = -32600
FORBIDDEN = -32001
HELP_OFF = -32002
UNAVAILABLE = -32003
UNSUPPORTED = -32004
REQUEST_FAILED = -32803  # LSP's RequestFailed: the language server answered with an error, or went away

STATE_METHOD = "padbox/state"
DIAGNOSTICS_METHOD = "textDocument/publishDiagnostics"


class State(enum.StrEnum):
    """A pad's language help, as every participant sees it."""

    IDLE = "idle"  # nothing started yet (starts at an editor's first request)
    STARTING = "starting"
    READY = "ready"
    RESTARTING = "restarting"  # crashed, hung or out of memory: coming back after a backoff
    OFF = "off"  # the owner turned it off
    UNAVAILABLE = "unavailable"  # PADBOX_LSP_MAX reached, or the server keeps failing
    UNSUPPORTED = "unsupported"  # no language server for the pad's language


# The requests a page may make, and what each gets when it cannot be answered for the current document.
EMPTY_RESULTS: dict[str, Any] = {
    "textDocument/completion": {"isIncomplete": True, "items": []},
    "textDocument/hover": None,
    "textDocument/signatureHelp": None,
    "textDocument/definition": None,
    "textDocument/documentHighlight": [],
}
VIEW_METHODS = frozenset({"textDocument/hover"})
IGNORED = frozenset(
    {
        "initialized",
        "textDocument/didOpen",
        "textDocument/didChange",
        "textDocument/didClose",
        "textDocument/didSave",
        "$/cancelRequest",
        "$/setTrace",
        "exit",
        "workspace/didChangeConfiguration",
    }
)

CAPABILITIES: dict[str, Any] = {
    "textDocumentSync": 2,
    "completionProvider": {"triggerCharacters": [".", ":", ">", "(", '"', "/", "<", "$"]},
    "hoverProvider": True,
    "signatureHelpProvider": {"triggerCharacters": ["(", ","]},
    "definitionProvider": True,
    "documentHighlightProvider": True,
}


class Malformed(ValueError):
    """A frame that is not one JSON-RPC message: the socket closes with 4400."""


@dataclass(frozen=True)
class Incoming:
    """One client message: a request (has an id) or a notification."""

    method: str
    id: int | str | None
    params: Any

    @property
    def is_request(self) -> bool:
        return self.id is not None


def parse(text: str) -> Incoming:
    """A frame's message; Malformed when it is not a JSON-RPC request or notification."""
    try:
        message = json.loads(text)
    except ValueError:
        raise Malformed("not JSON: each text frame is one JSON-RPC message") from None
    if not isinstance(message, dict):
        raise Malformed("a JSON-RPC message is an object")
    method = message.get("method")
    if not isinstance(method, str):
        if "result" in message or "error" in message:  # an answer to nothing we asked: ignored
            return Incoming("", None, None)
        raise Malformed("a JSON-RPC message from the page needs a method")
    ident = message.get("id")
    if ident is not None and (isinstance(ident, bool) or not isinstance(ident, int | str)):
        raise Malformed("a JSON-RPC id is a number or a string")
    return Incoming(method, ident, message.get("params"))


def result(ident: int | str | None, value: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "result": value}


def error(ident: int | str | None, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "error": {"code": code, "message": message}}


def notification(method: str, params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


def initialize_result() -> dict[str, Any]:
    return {"capabilities": CAPABILITIES, "serverInfo": {"name": "padbox"}}


def state_message(state: State, language: str, message: str) -> dict[str, Any]:
    return notification(STATE_METHOD, {"state": state.value, "language": language, "message": message})


def diagnostics_message(uri: str, diagnostics: list[Any], version: int | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"uri": uri, "diagnostics": diagnostics}
    if version is not None:
        params["version"] = version
    return notification(DIAGNOSTICS_METHOD, params)


def refusal_for_role(role: PadRole, method: str) -> dict[str, Any] | None:
    """The error for a request the role may not make, else None."""
    if role.can_edit or method in VIEW_METHODS:
        return None
    return {"code": FORBIDDEN, "message": "forbidden for the view role"}


def refusal_for_state(state: State, language_name: str) -> tuple[int, str] | None:
    """The error every request gets in a state that answers none, else None."""
    if state is State.OFF:
        return HELP_OFF, "language help is off for this pad"
    if state is State.UNAVAILABLE:
        return UNAVAILABLE, "language help is unavailable, try later"
    if state is State.UNSUPPORTED:
        return UNSUPPORTED, f"no language help for {language_name}"
    return None


def request_hash(params: Any) -> tuple[str, str] | None:
    """(uri, hash) a request was made against; None when it names none (it is then answered empty)."""
    if not isinstance(params, dict):
        return None
    document, extra = params.get("textDocument"), params.get("padbox")
    if not isinstance(document, dict) or not isinstance(extra, dict):
        return None
    uri, wanted = document.get("uri"), extra.get("hash")
    if not isinstance(uri, str) or not isinstance(wanted, str):
        return None
    return uri, wanted.lower()


def for_server(params: dict[str, Any]) -> dict[str, Any]:
    """The request's params as the language server gets them: without padbox's own field."""
    return {key: value for key, value in params.items() if key != "padbox"}


def text_hash(text: str) -> str:
    """FNV-1a, 32-bit, over the text's UTF-16 code units, as 8 hex digits: the page hashes the same way with no
    library (JavaScript strings are UTF-16), and both ends agree on what 'the same text' means."""
    data = text.encode("utf-16-le", "surrogatepass")
    h = 0x811C9DC5
    for unit in struct.unpack(f"<{len(data) // 2}H", data):
        h = ((h ^ unit) * 0x01000193) & 0xFFFFFFFF
    return f"{h:08x}"

"""The language server's copy of a pad's files, and the LSP notifications that bring it up to date with the pad's
document. Pure: the session hands it the document's files as they stand, it answers with what to send.

Why a diff rather than the Y.Text's own change events: Yjs reports changes by the document's own offsets and
in the order its peers' updates merged, while LSP wants positions in UTF-16 code units of the text as the
language server last saw it. Comparing the server's copy with the document's text (one common prefix and
suffix) gives one correct incremental change per file per sync, whatever order edits arrived in; two edits far
apart in one sync become one change spanning both, still correct.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

ROOT = "/work"
ROOT_URI = "file:///work"


def uri_of(name: str) -> str:
    return f"{ROOT_URI}/{quote(name, safe='/')}"


def name_of(uri: str) -> str | None:
    """The pad file a uri names, or None (a system header, another folder)."""
    prefix = ROOT_URI + "/"
    return unquote(uri[len(prefix) :]) if uri.startswith(prefix) else None


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def position(text: str, offset: int) -> dict[str, int]:
    """LSP's position (line, UTF-16 character) of a string offset."""
    line = text.count("\n", 0, offset)
    start = text.rfind("\n", 0, offset) + 1
    return {"line": line, "character": utf16_len(text[start:offset])}


def change(old: str, new: str) -> dict[str, Any] | None:
    """One incremental content change turning `old` into `new`; None when they are equal."""
    if old == new:
        return None
    limit = min(len(old), len(new))
    prefix = 0
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    end_old, end_new = len(old) - suffix, len(new) - suffix
    return {
        "range": {"start": position(old, prefix), "end": position(old, end_old)},
        "text": new[prefix:end_new],
    }


@dataclass
class Workspace:
    """What the language server has been told: each open file's text and version, and its language id."""

    language_id: str
    texts: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)

    def sync(self, files: Mapping[str, str]) -> list[dict[str, Any]]:
        """The messages (shim commands) that bring the server's copy to `files`: the file written to the
        workspace folder, then didOpen, didChange or didClose."""
        out: list[dict[str, Any]] = []
        for name in sorted(set(self.texts) - set(files)):
            del self.texts[name]
            del self.versions[name]
            out.append({"remove": name})
            out.append(_note("textDocument/didClose", {"textDocument": {"uri": uri_of(name)}}))
        for name, text in sorted(files.items()):
            old = self.texts.get(name)
            if old == text:
                continue
            out.append({"write": name, "text": text})
            if old is None:
                self.versions[name] = 1
                document = {"uri": uri_of(name), "languageId": self.language_id, "version": 1, "text": text}
                out.append(_note("textDocument/didOpen", {"textDocument": document}))
            else:
                self.versions[name] += 1
                edit = change(old, text)
                document = {"uri": uri_of(name), "version": self.versions[name]}
                out.append(_note("textDocument/didChange", {"textDocument": document, "contentChanges": [edit]}))
            self.texts[name] = text
        return out


def _note(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"lsp": {"jsonrpc": "2.0", "method": method, "params": params}}

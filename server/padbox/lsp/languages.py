"""Which pad languages have language help, and the language server (in padbox-lsp:latest) that gives it.

Keyed by the language ids of languages.toml. Every server here is installed in the image at build time
(runner-image/lsp/Dockerfile); a language missing here gets state `unsupported`, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# clangd: no background index (it would write to the read-only image or fill the tmpfs, and a pad is a few
# files); no header insertion (an edit the user did not ask for); errors only in its log.
CLANGD = ("clangd", "--background-index=false", "--header-insertion=never", "--log=error", "--pch-storage=memory")
TYPESCRIPT = ("typescript-language-server", "--stdio")

# pylsp: only the plugins a pad wants (jedi and pyflakes); the style checkers would cover every pad in warnings.
PYLSP_SETTINGS: dict[str, Any] = {
    "pylsp": {
        "plugins": {
            "pycodestyle": {"enabled": False},
            "mccabe": {"enabled": False},
            "pydocstyle": {"enabled": False},
            "pylint": {"enabled": False},
            "autopep8": {"enabled": False},
            "yapf": {"enabled": False},
            "pyflakes": {"enabled": True},
            # Documentation for the first few items only: pylsp resolves 25 by default, which was half of a
            # completion's time, and completionItem/resolve is not relayed to fetch the rest.
            "jedi_completion": {"resolve_at_most": 5},
        }
    }
}


@dataclass(frozen=True)
class LanguageServer:
    argv: tuple[str, ...]
    language_id: str  # LSP's languageId of the pad's files
    settings: dict[str, Any] = field(default_factory=dict)  # workspace/didChangeConfiguration, and configuration


SERVERS: dict[str, LanguageServer] = {
    # pylsp with a 150 ms lint debounce instead of its fixed 500 ms (runner-image/lsp/pylsp_padbox.py)
    "python": LanguageServer(("python3", "/opt/padbox-lsp/pylsp_padbox.py"), "python", PYLSP_SETTINGS),
    "c": LanguageServer(CLANGD, "c"),
    "cpp": LanguageServer(CLANGD, "cpp"),
    "javascript": LanguageServer(TYPESCRIPT, "javascript"),
    "typescript": LanguageServer(TYPESCRIPT, "typescript"),
    "bash": LanguageServer(("bash-language-server", "start"), "shellscript"),
}


def server_for(language: str) -> LanguageServer | None:
    return SERVERS.get(language)

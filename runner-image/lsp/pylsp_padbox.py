"""pylsp with a shorter lint debounce: the Python language server of padbox-lsp:latest.

pylsp waits a fixed 500 ms after the last change before it lints (`PythonLSPServer.lint`, debounced by
`pylsp._utils.debounce`, not a setting), which alone would miss the 500 ms goal for diagnostics after a keystroke
pause. A pad's changes reach the server already coalesced by padbox, so a shorter wait costs little. The lint
method is wrapped again, around the very function pylsp wrapped (`__wrapped__`, kept by functools.wraps).
"""

from pylsp import _utils, python_lsp
from pylsp.__main__ import main

LINT_DEBOUNCE_S = 0.15

server = python_lsp.PythonLSPServer
server.lint = _utils.debounce(LINT_DEBOUNCE_S, keyed_by="doc_uri")(server.lint.__wrapped__)

if __name__ == "__main__":
    main()

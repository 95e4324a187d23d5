"""`python -m padbox` serves, as `padbox serve` does; with arguments it is the `padbox` command (`run FILE`, ...)."""

from __future__ import annotations

import sys

from padbox.cli import main

if __name__ == "__main__":
    main(sys.argv[1:] or ["serve"])

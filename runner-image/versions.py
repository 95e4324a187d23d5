"""Runs each language's version command inside the freshly built image and prints JSON {id: version}.

Versions are read from the tools themselves at build time, never typed by hand.
"""

import json
import re
import subprocess
import sys
import tomllib

VERSION = re.compile(r"\d+(?:\.\d+)+")


def read_version(command: str) -> str:
    try:
        done = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "unknown"
    found = VERSION.search(done.stdout + done.stderr)
    return found.group(0) if found else "unknown"


def main() -> None:
    with open(sys.argv[1], "rb") as f:
        manifest = tomllib.load(f)
    versions = {lang: read_version(entry["version"]) for lang, entry in manifest.items()}
    missing = [lang for lang, v in versions.items() if v == "unknown"]
    if missing:
        sys.exit(f"no version found for: {', '.join(missing)} (is the toolchain installed?)")
    json.dump(versions, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()

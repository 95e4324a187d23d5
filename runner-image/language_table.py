"""Prints the README's table of languages: the manifest's ids, names and aliases, with the versions
the runner image read from its own toolchains when it was built (never typed by hand).

Usage: python3 runner-image/language_table.py [IMAGE]   (default padbox-runner:latest)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MANIFEST = Path(__file__).resolve().parent / "languages.toml"
VERSIONS_PATH = "/opt/padbox/versions.json"


def image_versions(image: str) -> dict[str, str]:
    """The versions file the image wrote at build time."""
    done = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", image, "cat", VERSIONS_PATH],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return {str(k): str(v) for k, v in json.loads(done.stdout).items()}


def markdown_table(manifest: Mapping[str, Mapping[str, Any]], versions: Mapping[str, str]) -> str:
    """One row per language, by display name; a language the image did not report shows `unknown`. Under
    the table, how each language with two styles (`[<id>.script]`) picks one from the source."""
    rows = ["| Language | Id | Aliases | Version |", "| --- | --- | --- | --- |"]
    notes = []
    for lang_id, entry in sorted(manifest.items(), key=lambda item: str(item[1]["name"]).lower()):
        aliases = ", ".join(f"`{a}`" for a in entry.get("aliases", [])) or "-"
        marked = f"{entry['name']} *" if "script" in entry else entry["name"]
        rows.append(f"| {marked} | `{lang_id}` | {aliases} | {versions.get(lang_id, 'unknown')} |")
        if "script" in entry:
            notes.append(f"\\* {entry['name']}: {entry['script']['about']}.")
    return "\n".join(rows + ([""] + notes if notes else []))


def main() -> None:
    image = sys.argv[1] if len(sys.argv) > 1 else "padbox-runner:latest"
    with MANIFEST.open("rb") as f:
        manifest = tomllib.load(f)
    print(markdown_table(manifest, image_versions(image)))


if __name__ == "__main__":
    main()

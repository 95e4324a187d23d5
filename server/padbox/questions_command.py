"""`padbox questions import DIR | export DIR | check DIR`: the question bank as plain files, straight to and from
the database the server uses (PADBOX_DATABASE_URL, else PADBOX_DATA_DIR's SQLite), no server needed.

`check` reads and validates without storing (for a team's CI); `import` is all or nothing and idempotent by slug.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from padbox.config import Settings
from padbox.core.languages import Catalogue
from padbox.pads.store import PadStore
from padbox.questions import files
from padbox.questions.model import QuestionError
from padbox.questions.store import QuestionStore


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    questions = commands.add_parser("questions", help="import, export or check question folders")
    actions = questions.add_subparsers(dest="action", required=True)
    for action, what in (
        ("import", "store every question folder under DIR (all or none; by slug, so again is harmless)"),
        ("export", "write every stored question as a folder under DIR"),
        ("check", "read and check the folders under DIR without storing anything"),
    ):
        actions.add_parser(action, help=what).add_argument("directory", type=Path, metavar="DIR")


async def _act(action: str, directory: Path, settings: Settings) -> str:
    catalogue = Catalogue.load(settings.manifest)
    if action == "check":
        return f"{len(files.read_bank(directory, catalogue))} question(s) in {directory} are valid"
    pads = PadStore(settings.pads_database_url)  # its engine: the pads' database, made as the server makes it
    store = QuestionStore(pads.engine)
    try:
        await store.open()
        if action == "import":
            done = await files.import_into(store, directory, catalogue)
            created = sum(new for _, new in done)
            return f"imported {len(done)} question(s) from {directory}: {created} new, {len(done) - created} updated"
        directory.mkdir(parents=True, exist_ok=True)
        slugs = await files.export_from(store, directory)
        return f"exported {len(slugs)} question(s) to {directory}"
    finally:
        await pads.close()


def run(args: argparse.Namespace) -> None:
    try:
        print(asyncio.run(_act(args.action, args.directory, Settings.from_env())))
    except QuestionError as exc:
        sys.exit(f"padbox questions {args.action}: {exc.message}")

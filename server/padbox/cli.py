"""The `padbox` command: `padbox serve` starts a server; `padbox run FILE` runs a file on one from a terminal, live.

For `run`, output streams as it is produced, the terminal's input goes to the program (raw mode with
--tty), the verdict and usage go to stderr, and the exit code is the program's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import stat
import sys
import termios
import tty
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import websockets

from padbox import questions_command
from padbox.client import Client, connect
from padbox.config import SETTINGS
from padbox.core.protocol import ServerType

DEFAULT_URL = os.environ.get("PADBOX_URL", "ws://127.0.0.1:8000/ws")
DEFAULT_TOKEN = os.environ.get("PADBOX_TOKEN")
EXIT_SERVER_ERROR = 2


def http_base(ws_url: str) -> str:
    parts = urlsplit(ws_url)
    scheme = "https" if parts.scheme == "wss" else "http"
    return urlunsplit((scheme, parts.netloc, "", "", ""))


def guess_language(path: Path, ws_url: str) -> str:
    """The language that answers to this file's extension, per the server's own list of names (which
    settles an extension two languages share, `.pl` say)."""
    listing = httpx.get(f"{http_base(ws_url)}/api/v1/languages", timeout=10).raise_for_status().json()
    extension = path.suffix[1:].lower()
    for lang in listing:
        if extension and extension in [str(name).lower() for name in [lang["id"], *lang["aliases"]]]:
            return str(lang["id"])
    raise SystemExit(f"padbox: cannot tell the language of {path.name}; pass --language")


def describe_exit(message: dict[str, Any]) -> str:
    memory = message.get("memory_bytes")
    usage = [f"{message['wall_ms']} ms wall"]
    if message.get("cpu_ms") is not None:
        usage.append(f"{message['cpu_ms']} ms cpu")
    if memory is not None:
        usage.append(f"{memory / 1048576:.1f} MB peak")
    how = f"signal {message['signal']}" if message.get("signal") else f"exit {message.get('code')}"
    return f"[padbox] {message['stage']}: {message['verdict']}, {how}, {', '.join(usage)}"


def exit_status(message: dict[str, Any]) -> int:
    if message.get("signal"):
        return 128 + int(getattr(signal, str(message["signal"]), 0))
    return int(message.get("code") or 0)


@contextmanager
def raw_terminal(enabled: bool) -> Iterator[None]:
    if not enabled or not sys.stdin.isatty():
        yield
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def terminal_size() -> tuple[int, int]:
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except OSError:
        return 80, 24
    # A terminal nobody has sized yet reports 0 x 0.
    return size.columns or 80, size.lines or 24


async def forward_input(client: Client) -> None:
    """Send what is typed (or piped) to the program; a regular file is sent whole, then EOF."""
    fd = sys.stdin.fileno()
    mode = os.fstat(fd).st_mode
    if not (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)):
        data = sys.stdin.buffer.read()
        if data:
            await client.stdin(data.decode(errors="replace"))
        await client.eof()
        return
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    loop.add_reader(fd, lambda: chunks.put_nowait(os.read(fd, 4096)))
    try:
        while True:
            data = await chunks.get()
            if not data:
                await client.eof()
                return
            await client.stdin(data.decode(errors="replace"))
    finally:
        loop.remove_reader(fd)


async def run_file(path: Path, language: str, url: str, use_tty: bool, token: str | None = None) -> int:
    cols, rows = terminal_size()
    status = 0
    async with connect(url, token=token) as ws:
        client = Client(ws, keep_frames=False)
        await client.run(
            language=language,
            files=[{"name": path.name, "content": path.read_text()}],
            tty=use_tty,
            cols=cols,
            rows=rows,
        )
        loop = asyncio.get_running_loop()
        if use_tty:
            loop.add_signal_handler(signal.SIGWINCH, lambda: loop.create_task(client.resize(*terminal_size())))
        pump = asyncio.create_task(forward_input(client))
        try:
            with raw_terminal(use_tty):
                while (frame := await client.next(timeout=None)) is not None:
                    message = frame.message
                    if frame.type == ServerType.STDOUT:
                        sys.stdout.write(message["data"])
                        sys.stdout.flush()
                    elif frame.type == ServerType.STDERR:
                        sys.stderr.write(message["data"])
                        sys.stderr.flush()
                    elif frame.type == ServerType.EXIT:
                        print(describe_exit(message), file=sys.stderr, end="\r\n" if use_tty else "\n")
                        status = exit_status(message)
                    elif frame.type == ServerType.ERROR:
                        print(f"[padbox] error {message['code']}: {message['message']}", file=sys.stderr)
                        status = EXIT_SERVER_ERROR
        finally:
            pump.cancel()
    if not client.transcript.closed_cleanly:
        if status != EXIT_SERVER_ERROR:  # an `error` message already said why
            print(f"[padbox] connection lost (close code {client.transcript.close_code})", file=sys.stderr)
        status = EXIT_SERVER_ERROR
    return status


def settings_help() -> str:
    """`padbox serve --help`'s list of the environment variables it reads."""
    lines = ["settings (environment variables, see the README's Configuration):"]
    for s in SETTINGS:
        lines.append(f"  {s.env}={s.default}\n      {s.help}")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="padbox", description="A real-time code execution server, and its client.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "serve",
        help="serve padbox (also `python -m padbox`); settings come from the environment",
        description="Serve the pad, /ws and the HTTP API until SIGTERM or SIGINT.",
        epilog=settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run = commands.add_parser("run", help="run a source file on a padbox server")
    run.add_argument("file", type=Path)
    run.add_argument("--language", "-l", help="language id or alias (default: from the file's extension)")
    run.add_argument("--tty", action="store_true", help="give the program a terminal; keystrokes go raw")
    run.add_argument("--url", default=DEFAULT_URL, help=f"server WebSocket URL (default {DEFAULT_URL}; env PADBOX_URL)")
    run.add_argument("--token", default=DEFAULT_TOKEN, help="API token, if the server wants one (env PADBOX_TOKEN)")
    questions_command.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.command == "serve":
        from padbox.serve import serve  # the server's dependencies load only when serving

        serve()
        return
    if args.command == "questions":
        questions_command.run(args)
        return
    if not args.file.is_file():
        raise SystemExit(f"padbox: no such file: {args.file}")
    try:
        language = args.language or guess_language(args.file, args.url)
        status = asyncio.run(run_file(args.file, language, args.url, args.tty, args.token))
    except (OSError, httpx.HTTPError, websockets.InvalidURI, websockets.InvalidHandshake) as exc:
        raise SystemExit(f"padbox: cannot reach {args.url}: {exc}") from None
    sys.exit(status)


if __name__ == "__main__":
    main()

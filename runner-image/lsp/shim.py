"""The entry point of a padbox language-server container: started as `shim.py -- SERVER ARGV...`.

It speaks one JSON object per line with the padbox server over the container's attached stdin/stdout, and
relays LSP's Content-Length frames to and from the language server it starts as its child:

  server -> shim   {"write": NAME, "text": TEXT}   write the pad's file into /work (imports resolve)
                   {"remove": NAME}                remove it
                   {"lsp": MESSAGE}                one JSON-RPC message for the language server
  shim -> server   {"lsp": MESSAGE}                one JSON-RPC message from the language server
                   {"exit": CODE}                  the language server ended; the shim ends too

Why a shim rather than attaching the language server itself: the server must put the pad's files on disk inside
the sandbox without copying into it from the host (the host never opens a path inside a sandbox), and a line of
JSON per message is simpler for the server to read than LSP's own framing interleaved with Docker's.
Standard library only: it runs before anything else in the container, and `-E -S` keeps /work off its path.
"""

import json
import os
import subprocess
import sys
import threading

WORKDIR = "/work"
MAX_HEADER = 8192


def safe_path(name):
    """The file's path under /work, or None for a name that would leave it."""
    if not isinstance(name, str) or not name or "\0" in name:
        return None
    path = os.path.normpath(os.path.join(WORKDIR, name))
    if not path.startswith(WORKDIR + "/"):
        return None
    return path


def write_file(name, text):
    path = safe_path(name)
    if path is None or not isinstance(text, str):
        return
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", errors="surrogatepass") as f:
            f.write(text)
    except OSError as exc:  # a full tmpfs: the language server still has the open document
        sys.stderr.write(f"shim: cannot write {name}: {exc}\n")


def remove_file(name):
    path = safe_path(name)
    if path is not None:
        try:
            os.unlink(path)
        except OSError:
            pass


class Output:
    """The container's stdout, shared by the relay thread and the main thread's last word."""

    def __init__(self):
        self.lock = threading.Lock()
        self.stream = sys.stdout.buffer

    def send(self, obj):
        line = json.dumps(obj, separators=(",", ":")).encode("ascii") + b"\n"  # ASCII: a lone surrogate stays valid
        with self.lock:
            try:
                self.stream.write(line)
                self.stream.flush()
            except (OSError, ValueError):
                pass


def relay_out(child, out):
    """The language server's frames, one line each, to the server."""
    pipe = child.stdout
    while True:
        length = None
        header_bytes = 0
        while True:
            line = pipe.readline(MAX_HEADER)
            if not line:
                return
            header_bytes += len(line)
            if header_bytes > MAX_HEADER:
                return
            if line in (b"\r\n", b"\n"):
                break
            key, _, value = line.decode("ascii", "replace").partition(":")
            if key.strip().lower() == "content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    return
        if length is None:
            continue
        body = pipe.read(length)
        if len(body) < length:
            return
        try:
            message = json.loads(body.decode("utf-8", "surrogatepass"))
        except ValueError:
            continue
        out.send({"lsp": message})


def relay_then_end(child, out):
    """Relay until the language server's output ends, then report how it ended and end the container: a
    language server that crashed must not leave a shim waiting for input."""
    relay_out(child, out)
    try:
        code = child.wait(timeout=2)
    except subprocess.TimeoutExpired:
        child.kill()
        code = child.wait()
    out.send({"exit": code})
    os._exit(0)


def main():
    argv = sys.argv[1:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    out = Output()
    if not argv:
        out.send({"exit": 127})
        return 2
    try:
        child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=WORKDIR)
    except OSError as exc:
        sys.stderr.write(f"shim: cannot start {argv[0]}: {exc}\n")
        out.send({"exit": 127})
        return 1
    relay = threading.Thread(target=relay_then_end, args=(child, out), daemon=True)
    relay.start()
    for raw in sys.stdin.buffer:
        try:
            command = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(command, dict):
            continue
        if "lsp" in command:
            body = json.dumps(command["lsp"]).encode("ascii")
            try:
                child.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
                child.stdin.flush()
            except (OSError, ValueError):
                break
        elif "write" in command:
            write_file(command["write"], command.get("text"))
        elif "remove" in command:
            remove_file(command["remove"])
    # The server detached (its attach ended) or the language server's input broke: end it all.
    try:
        child.stdin.close()
    except OSError:
        pass
    try:
        child.wait(timeout=2)
    except subprocess.TimeoutExpired:
        child.kill()
    relay.join(timeout=3)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Language servers in Docker: one hardened container per pad and language, from padbox-lsp:latest.

The container is a run's container (backends/docker.container_config: no network, read-only root, every
capability dropped, padbox's seccomp profile, no-new-privileges, memory/pids/CPU limits, tmpfs /work and /tmp,
the unprivileged user) with the language-server image and its shim as the command, and the same labels, so
`reap_leftovers` removes one a crashed server left. Its one conversation with the server is the shim's attached
stdin/stdout, one JSON object a line (runner-image/lsp/shim.py); as with runs, the host never opens a path inside.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import aiodocker
import aiohttp
from aiodocker.containers import DockerContainer
from aiodocker.stream import Stream

from padbox.backends.docker import (
    LAST_WORD_TIMEOUT_S,
    STDOUT_STREAM,
    DockerBackend,
    attach_agent,
    container_config,
)
from padbox.config import Settings
from padbox.core.limits import Limits
from padbox.lsp.channel import Channel, LaunchFailed

log = logging.getLogger("padbox.lsp")

LSP_LABEL = "padbox.lsp"  # the pad's language: marks the container as a language server, not a run
SHIM_COMMAND = ["python3", "-E", "-S", "/opt/padbox-lsp/shim.py", "--"]
MAX_LINE = 32 << 20  # one message from the shim; a larger one (a runaway server) ends the sandbox
LSP_PIDS = 256  # node (typescript-language-server, tsserver) runs a dozen threads per process


def lsp_limits(settings: Settings) -> Limits:
    """A language server's limits: its own memory limit; the timeouts do not apply (it lives as long as the pad
    uses it, and a hang is the manager's deadline to judge)."""
    return Limits(0, 0, 0, settings.lsp_memory_mb, LSP_PIDS, 0)


def lsp_container_config(settings: Settings, pad_id: str, language: str, argv: Sequence[str]) -> dict[str, Any]:
    """A run's hardened container, running the shim and its language server. Pure, for the unit tests.

    Under its own runtime (PADBOX_LSP_RUNTIME), with everything that depends on the runtime (the pids limit's
    meaning) following it: gVisor's runsc of bookworm fails every thread a language server starts (Python's and
    Node's alike), so language servers stay on the engine's default runtime unless told otherwise. They parse the
    pad's files but run none of them; the container's own walls (no network, no capabilities, seccomp, read-only
    root, limits) are those of a run."""
    own = replace(settings, runtime=settings.lsp_runtime)
    config = container_config(own, lsp_limits(own), f"lsp-{pad_id}", [*SHIM_COMMAND, *argv])
    config["Image"] = settings.lsp_image
    config["Labels"][LSP_LABEL] = language
    return config


class DockerChannel:
    """The shim's stdin and stdout."""

    def __init__(self, backend: DockerBackend, container: DockerContainer, stream: Stream) -> None:
        self.backend = backend
        self.container = container
        self.stream = stream
        self.name = str(container.id)[:12]
        self._buffer = bytearray()
        self._closed = False

    async def send(self, command: dict[str, Any]) -> None:
        line = json.dumps(command, separators=(",", ":")).encode("ascii")  # a lone surrogate stays valid JSON
        try:
            await self.stream.write_in(line + b"\n")
        except (RuntimeError, AssertionError, aiodocker.DockerError, aiohttp.ClientError) as exc:
            raise OSError(f"the language server's sandbox is gone: {exc!r}") from exc

    async def receive(self) -> dict[str, Any] | None:
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if isinstance(message, dict):
                    return message
                continue
            if len(self._buffer) > MAX_LINE:
                log.warning("language server %s: a message over %d bytes; ending it", self.name, MAX_LINE)
                return None
            try:
                chunk = await self.stream.read_out()
            except (OSError, AssertionError, aiohttp.ClientError, aiodocker.DockerError):
                return None
            if chunk is None:
                return None
            if chunk.stream == STDOUT_STREAM:
                self._buffer += chunk.data
            else:
                log.debug("language server %s: %s", self.name, chunk.data.decode(errors="replace").rstrip())

    async def why_ended(self, code: int | None) -> str:
        """Docker records how a container ended a moment after its output ends (the OOM kill of the language
        server, which the shim reports as SIGKILL, among it): that record is waited for, within a bound."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LAST_WORD_TIMEOUT_S
        state: dict[str, Any] = {}
        while True:
            try:
                state = (await self.container.show()).get("State", {})
            except (aiodocker.DockerError, aiohttp.ClientError, OSError, TimeoutError):
                return "its sandbox went away"
            if not state.get("Running") or loop.time() > deadline:
                break
            await asyncio.sleep(0.05)
        if state.get("OOMKilled"):
            return "it ran out of memory"
        if code is not None and code < 0:
            return f"it was killed by signal {-code}"
        if code is not None:
            return f"it exited with code {code}"
        if state.get("Running"):
            return "its output ended"
        return f"its sandbox exited with code {state.get('ExitCode')}"

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        async def detach_and_remove() -> None:
            await self.stream.close()
            await self.backend.remove_soon(self.container)

        self.backend.track(detach_and_remove())


class DockerLanguageServers:
    """The Launcher on the run backend's Docker client (one client, one set of tracked removals)."""

    def __init__(self, backend: DockerBackend, settings: Settings) -> None:
        self.backend = backend
        self.settings = settings

    async def launch(self, pad_id: str, language: str, argv: Sequence[str]) -> Channel:
        client = self.backend.client
        container: DockerContainer | None = None
        stream: Stream | None = None
        try:
            config = lsp_container_config(self.settings, pad_id, language, argv)
            container = await client.containers.create(config=config)
            stream = attach_agent(client, container.id)
            await stream.__aenter__()
            await container.start()
            return DockerChannel(self.backend, container, stream)
        except BaseException as exc:
            if stream is not None:
                await stream.close()
            if container is not None:
                self.backend.remove_soon(container)
            if isinstance(exc, aiodocker.DockerError | aiohttp.ClientError | OSError):
                message = exc.message if isinstance(exc, aiodocker.DockerError) else str(exc)
                raise LaunchFailed(f"Docker refused the language server's sandbox: {message}") from exc
            raise

    async def settled(self) -> None:
        await self.backend.settled()

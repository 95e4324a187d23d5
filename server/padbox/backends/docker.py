"""The Docker adapter: one hardened container per run, driven through its agent.

Everything Docker-specific lives here. The container's only conversation with the server is
the attached stdin/stdout of its agent (framing in agent_wire.py): the host never opens,
copies or follows a path inside the sandbox.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import secrets
from collections.abc import Coroutine
from typing import Any, TypeVar

import aiodocker
import aiohttp
from aiodocker.containers import DockerContainer
from aiodocker.stream import Stream
from padbox_agent.wire import MAC_SIZE, FrameDecoder, FrameError, Kind, decode_json, encode, exit_mac, json_payload

from padbox.config import Settings
from padbox.core.limits import Limits

log = logging.getLogger("padbox.sandbox")

SESSION_LABEL = "padbox.session"
INSTANCE_LABEL = "padbox.instance"
ORIGIN_LABEL = "padbox.origin"  # "pool" (made ahead of time) or "cold" (made for a waiting run)
SANDBOX_USER = "1000:1000"
AGENT_COMMAND = ["python3", "-E", "-S", "/opt/padbox/agent.py"]
STDOUT_STREAM = 1
AGENT_OOM_SCORE_ADJ = 500
TMPFS_INODES = 16384  # files and directories per tmpfs: creating 100,000 files is ENOSPC, not kernel memory
RUNSC_BASE_THREADS = 64
RUNSC_THREADS_PER_PROCESS = 8
T = TypeVar("T")


class SandboxError(Exception):
    """Docker or the agent failed: the client gets an `internal` error, the container is removed."""


def container_config(
    settings: Settings, limits: Limits, session_id: str, command: list[str], origin: str = "cold"
) -> dict[str, Any]:
    """The hardened container definition. Pure, so the settings are checked by unit tests."""
    files_mb = tmpfs_mb(settings, limits)
    tmpfs_options = f"rw,exec,nosuid,nodev,size={files_mb}m,nr_inodes={TMPFS_INODES},uid=1000,gid=1000"
    host_config: dict[str, Any] = {
        "NetworkMode": "none",
        "CapDrop": ["ALL"],
        "SecurityOpt": ["no-new-privileges"],
        "ReadonlyRootfs": True,
        "Tmpfs": {"/work": tmpfs_options + ",mode=0755", "/tmp": tmpfs_options + ",mode=1777"},
        "ShmSize": files_mb << 20,
        "Memory": limits.memory_bytes,
        "MemorySwap": limits.memory_bytes,  # equal to Memory: no swap at all
        "PidsLimit": host_pids_limit(settings, limits),
        "NanoCpus": int(settings.cpus * 1e9),
        "Ulimits": [
            {"Name": "nofile", "Soft": settings.nofile, "Hard": settings.nofile},
            {"Name": "fsize", "Soft": settings.fsize_mb << 20, "Hard": settings.fsize_mb << 20},
            {"Name": "core", "Soft": 0, "Hard": 0},
        ],
        # No docker-init: the agent is pid 1 and reaps orphans itself. A docker-init would run as the
        # sandbox user and be dumpable, so the program could read /proc/1/environ and write forged agent
        # frames to the server through /proc/1/fd/1; the agent is neither readable nor killable from inside.
        "Init": False,
        "IpcMode": "private",
        "LogConfig": {"Type": "none", "Config": {}},
        # Under host memory pressure a sandbox goes before anything else (500 > 0), and inside the
        # sandbox the program (which raises itself to 1000) goes before the agent, so a run that fills
        # its memory still gets its verdict from a living agent.
        "OomScoreAdj": AGENT_OOM_SCORE_ADJ,
        "AutoRemove": False,
    }
    if settings.runtime:
        host_config["Runtime"] = settings.runtime
    return {
        "Image": settings.image,
        "Cmd": command,
        "User": SANDBOX_USER,
        "WorkingDir": "/work",
        "Env": ["LANG=C.UTF-8", "HOME=/tmp", "PATH=/usr/local/bin:/usr/bin:/bin"],
        "Labels": {SESSION_LABEL: session_id, INSTANCE_LABEL: settings.instance, ORIGIN_LABEL: origin},
        "AttachStdin": True,
        "AttachStdout": True,
        "AttachStderr": True,
        "OpenStdin": True,
        # The agent's stdin closes when the server's one attach ends (a crashed server too), and the agent
        # then kills everything and exits: no sandbox runs on unattended.
        "StdinOnce": True,
        "Tty": False,
        "NetworkDisabled": True,
        "HostConfig": host_config,
    }


def tmpfs_mb(settings: Settings, limits: Limits) -> int:
    """Size of each of /work, /tmp and /dev/shm. Files there are memory charged to the sandbox, so each
    gets at most a quarter of the memory limit: filling the work directory is ENOSPC, not an OOM kill."""
    return max(1, min(settings.workdir_mb, limits.memory_mb // 4))


def host_pids_limit(settings: Settings, limits: Limits) -> int:
    """Docker's pids limit. Under runc it counts the sandbox's processes and threads exactly. Under
    gVisor it counts the host threads of the sandbox itself: about 40 at rest, and with the ptrace
    platform several more for every process inside, so the limit is scaled to keep the same meaning
    approximately (a sandbox that reaches it is ended whole)."""
    if settings.runtime == "runsc":
        return RUNSC_BASE_THREADS + RUNSC_THREADS_PER_PROCESS * limits.pids
    return limits.pids


class Sandbox:
    """A running container and the attached stream to its agent."""

    def __init__(self, container: DockerContainer, stream: Stream, session_id: str, limits: Limits) -> None:
        self.container = container
        self.stream = stream
        self.session_id = session_id  # the value of its padbox.session label
        self.limits = limits
        self._decoder = FrameDecoder()
        self._pending: list[tuple[Kind, bytes]] = []
        self._ended = False  # the output stream ended, or the server killed the sandbox
        self.key = secrets.token_bytes(32)  # given to the agent before any program runs; see exit_mac
        self._stages = 0

    @property
    def id(self) -> str:
        return str(self.container.id)

    async def send(self, kind: Kind, payload: bytes = b"") -> None:
        if kind == Kind.EXEC:
            self._stages += 1
        try:
            await self.stream.write_in(encode(kind, payload))
        except (OSError, RuntimeError, AssertionError, aiodocker.DockerError) as exc:
            # aiodocker asserts when the connection under the stream is already gone
            raise SandboxError(f"lost the sandbox's input stream: {exc!r}") from exc

    async def send_json(self, kind: Kind, obj: dict[str, Any]) -> None:
        await self.send(kind, json_payload(obj))

    async def next_frame(self) -> tuple[Kind, bytes] | None:
        """The agent's next frame, or None once the container's output has ended."""
        while not self._pending:
            if self._ended:
                return None
            try:
                message = await self.stream.read_out()
            except (OSError, AssertionError, aiohttp.ClientError, aiodocker.DockerError) as exc:
                if self._ended:  # the server killed it meanwhile
                    return None
                raise SandboxError(f"lost the sandbox's output stream: {exc!r}") from exc
            if message is None:
                return await self._last_word()
            if message.stream != STDOUT_STREAM:
                log.warning("sandbox %s agent: %s", self.id[:12], message.data.decode(errors="replace").strip())
                continue
            try:
                frames = self._decoder.feed(message.data)
            except FrameError as exc:
                raise SandboxError(f"garbled frame from the sandbox: {exc}") from exc
            self._pending.extend(frame for frame in map(self._authentic, frames) if frame is not None)
        return self._pending.pop(0)

    def _authentic(self, frame: tuple[Kind, bytes]) -> tuple[Kind, bytes] | None:
        """An EXIT without the agent's MAC was written by the program itself: drop it (the real one follows)."""
        kind, payload = frame
        if kind != Kind.EXIT:
            return frame
        mac, result = payload[:MAC_SIZE], payload[MAC_SIZE:]
        if not hmac.compare_digest(mac, exit_mac(self.key, self._stages, result)):
            log.warning("sandbox %s: dropped a forged EXIT frame", self.id[:12])
            return None
        return kind, result

    async def _last_word(self) -> tuple[Kind, bytes] | None:
        """The output ended without the agent's EXIT. When the kernel killed the whole sandbox for its
        memory (under gVisor a memory bomb takes the sandbox, agent and all), say so on the agent's behalf."""
        if self._ended:
            return None
        self._ended = True
        state: dict[str, Any] = {}
        for _ in range(20):  # Docker records the exit a moment after the output ends
            try:
                state = (await self.container.show()).get("State", {})
            except aiodocker.DockerError:
                return None
            if not state.get("Running"):
                break
            await asyncio.sleep(0.05)
        if state.get("OOMKilled"):
            return Kind.EXIT, json_payload({"code": None, "signal": "SIGKILL", "oom": True})
        return None

    async def expect(self, wanted: Kind, timeout: float) -> dict[str, Any]:
        """Wait for one control frame (READY, DONE); anything else is the agent failing."""
        frame = await asyncio.wait_for(self.next_frame(), timeout)
        if frame is None:
            raise SandboxError("the sandbox ended before it answered")
        kind, payload = frame
        if kind == Kind.FAIL:
            raise SandboxError(str(decode_json(payload).get("message", "the sandbox failed")))
        if kind != wanted:
            raise SandboxError(f"the sandbox sent {kind.name} where {wanted.name} was expected")
        return decode_json(payload)

    async def kill(self) -> None:
        """The watchdog's last resort: detach, then remove the whole container. Detaching comes first:
        Docker does not finish stopping a container while an attached reader that has stopped reading
        (a session stuck on a client that stopped reading) holds its output back."""
        self._ended = True
        await self.stream.close()
        try:
            await self.container.delete(force=True)
        except aiodocker.DockerError as exc:
            if exc.status not in (404, 409):  # already gone, or its removal already under way
                raise SandboxError(f"could not kill the sandbox: {exc}") from exc


def make_client() -> aiodocker.Docker:
    """An aiodocker client without aiohttp's default cap of 100 connections: every live sandbox
    holds one attach connection, and hundreds of idle interactive sessions are expected."""
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if host.startswith("unix://"):
        return aiodocker.Docker(url="unix://localhost", connector=aiohttp.UnixConnector(host[len("unix://"):], limit=0))
    return aiodocker.Docker()


class Docker:
    """The one Docker client of a server process, and every container removal it has started."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: aiodocker.Docker | None = None
        self._tracked: set[asyncio.Task[Any]] = set()

    @property
    def client(self) -> aiodocker.Docker:
        """Made on first use: aiodocker needs a running event loop."""
        if self._client is None:
            self._client = make_client()
        return self._client

    async def close(self) -> None:
        await self.settled()
        if self._client is not None:
            await self._client.close()
            if self._client.connector is not None:
                await self._client.connector.close()

    async def settled(self) -> None:
        """Wait until all Docker work started with `track` (removals above all) has finished."""
        while self._tracked:
            await asyncio.gather(*self._tracked, return_exceptions=True)

    async def ping(self) -> bool:
        try:
            await self.client.version()
        except (aiodocker.DockerError, OSError):
            return False
        return True

    async def image_present(self) -> bool:
        try:
            await self.client.images.inspect(self.settings.image)
        except aiodocker.DockerError:
            return False
        return True

    async def start_sandbox(self, limits: Limits, session_id: str, origin: str = "cold") -> Sandbox:
        """Create and start a container and wait for its agent.

        The work runs in a task of its own: a caller cancelled half-way (a client that left) cannot
        strand a container Docker has made but not yet named to us; the sandbox is discarded instead.
        """
        task = self.track(self._start_sandbox(limits, session_id, origin))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(self._discard_unwanted)
            raise

    def _discard_unwanted(self, task: asyncio.Task[Sandbox]) -> None:
        if not task.cancelled() and task.exception() is None:
            self.discard(task.result())

    async def _start_sandbox(self, limits: Limits, session_id: str, origin: str) -> Sandbox:
        container: DockerContainer | None = None
        stream: Stream | None = None
        try:
            config = container_config(self.settings, limits, session_id, AGENT_COMMAND, origin)
            container = await self.client.containers.create(config=config)
            stream = container.attach(stdin=True, stdout=True, stderr=True)
            await stream.__aenter__()
            await container.start()
            sandbox = Sandbox(container, stream, session_id, limits)
            await sandbox.expect(Kind.READY, self.settings.sandbox_start_timeout_s)
            await sandbox.send(Kind.KEY, sandbox.key)
            return sandbox
        except BaseException as exc:
            if stream is not None:
                await asyncio.shield(stream.close())
            if container is not None:
                self.remove_soon(container)
            if isinstance(exc, aiodocker.DockerError):
                raise SandboxError(f"Docker refused the sandbox: {exc.message}") from exc
            if isinstance(exc, TimeoutError):
                raise SandboxError("the sandbox did not become ready in time") from exc
            raise

    def discard(self, sandbox: Sandbox) -> asyncio.Task[None]:
        """Detach from a sandbox and remove its container; never reused."""

        async def close_and_remove() -> None:
            await sandbox.stream.close()
            await self._remove(sandbox.container)

        return self.track(close_and_remove())

    def track(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run Docker work in a task of its own, so a cancelled session cannot cancel it half-way."""
        task = asyncio.get_running_loop().create_task(work)
        self._tracked.add(task)
        task.add_done_callback(self._tracked.discard)
        return task

    def remove_soon(self, container: DockerContainer) -> asyncio.Task[None]:
        """Force-remove a container, whatever happens to the task that asked."""
        return self.track(self._remove(container))

    async def _remove(self, container: DockerContainer) -> None:
        for attempt in range(5):
            try:
                await container.delete(force=True)
                return
            except aiodocker.DockerError as exc:
                if exc.status == 404:
                    return
                if exc.status == 409 and attempt < 4:  # removal already in progress
                    await asyncio.sleep(0.2)
                    continue
                log.error("could not remove container %s: %s", container.id[:12], exc)
                return

    async def reap_leftovers(self) -> int:
        """Remove containers a crashed server of this instance left behind."""
        filters = json.dumps({"label": [f"{INSTANCE_LABEL}={self.settings.instance}"]})
        leftovers = await self.client.containers.list(all=True, filters=filters)
        await asyncio.gather(*(self.remove_soon(c) for c in leftovers))
        return len(leftovers)

    async def read_versions(self) -> dict[str, str]:
        """The language versions the image recorded when it was built (/opt/padbox/versions.json)."""
        limits_for_cat = Limits(5, 5, 5, 64, 16, 64)
        config = container_config(self.settings, limits_for_cat, "startup", ["cat", "/opt/padbox/versions.json"])
        container = await self.client.containers.create(config=config)
        try:
            stream = container.attach(stdout=True, stderr=True)
            async with stream:
                await container.start()
                chunks: list[bytes] = []
                while (message := await stream.read_out()) is not None:
                    if message.stream == STDOUT_STREAM:
                        chunks.append(message.data)
            versions = json.loads(b"".join(chunks))
        finally:
            await self.remove_soon(container)
        if not isinstance(versions, dict):
            raise SandboxError("the image's versions.json is not an object")
        return {str(k): str(v) for k, v in versions.items()}

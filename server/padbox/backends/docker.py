"""The Docker backend: one hardened container per run, driven through its agent.

Everything Docker-specific lives here. The container's only conversation with the server is
the attached stdin/stdout of its agent (spoken by core/agent_sandbox.py): the host never opens,
copies or follows a path inside the sandbox.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

import aiodocker
import aiohttp
from aiodocker.containers import DockerContainer
from aiodocker.stream import Stream
from yarl import URL

from padbox.backends.seccomp import security_option
from padbox.config import Settings
from padbox.core.agent_sandbox import AgentSandbox, Liveness
from padbox.core.limits import Limits
from padbox.core.sandbox import Origin, ProcessExit, Sandbox, SandboxError, SandboxLost

log = logging.getLogger("padbox.sandbox")

SESSION_LABEL = "padbox.session"
INSTANCE_LABEL = "padbox.instance"
NODE_LABEL = "padbox.node"  # cluster mode: the node that owns the sandbox, whose restart removes it
ORIGIN_LABEL = "padbox.origin"  # "pool" (made ahead of time) or "cold" (made for a waiting run)
SANDBOX_USER = "1000:1000"
AGENT_COMMAND = ["python3", "-E", "-S", "/opt/padbox/agent.py"]
STDOUT_STREAM = 1
AGENT_OOM_SCORE_ADJ = 500
TMPFS_INODES = 16384  # files and directories per tmpfs: creating 100,000 files is ENOSPC, not kernel memory
RUNSC_BASE_THREADS = 64
RUNSC_THREADS_PER_PROCESS = 8
STOP_TIMEOUT_S = 1
LAST_WORD_TIMEOUT_S = 5.0  # how long Docker may take to record how a container whose output ended died
ENGINE_UNREACHABLE = 900  # aiodocker's status for "cannot connect to the Docker engine"
T = TypeVar("T")


def container_config(
    settings: Settings,
    limits: Limits,
    session_id: str,
    command: list[str],
    origin: Origin = Origin.COLD,
    boxes: bool = False,
) -> dict[str, Any]:
    """The hardened container definition. Pure, so the settings are checked by unit tests.

    `boxes`: the container hosts one run after another, each in a box of fresh namespaces the agent makes
    (runner-image/agent/padbox_agent/box.py). The agent then needs the namespace profile (unshare, setns, mount;
    the program never gets them: the agent's inner filter refuses them again), and under runc a /proc without
    Docker's masks, which is what lets it mount each box's own /proc; it masks the same paths again there."""
    files_mb = tmpfs_mb(settings, limits)
    tmpfs_options = f"rw,exec,nosuid,nodev,size={files_mb}m,nr_inodes={TMPFS_INODES},uid=1000,gid=1000"
    if boxes:
        command = [*command, f"--boxes={files_mb},{TMPFS_INODES}"]
    host_config: dict[str, Any] = {
        "NetworkMode": "none",
        "CapDrop": ["ALL"],
        # padbox's own seccomp profile (backends/seccomp.py): Docker's default shape, without io_uring.
        "SecurityOpt": ["no-new-privileges", security_option(namespaces=boxes)],
        "ReadonlyRootfs": True,
        "Tmpfs": {"/work": tmpfs_options + ",mode=0755", "/tmp": tmpfs_options + ",mode=1777"},
        "ShmSize": files_mb << 20,
        **resource_limits(settings, limits),
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
    if boxes and settings.runtime != "runsc":
        host_config["MaskedPaths"] = []
        host_config["ReadonlyPaths"] = []
    return {
        "Image": settings.image,
        "Cmd": command,
        "User": SANDBOX_USER,
        "WorkingDir": "/work",
        "Env": ["LANG=C.UTF-8", "HOME=/tmp", "PATH=/usr/local/bin:/usr/bin:/bin"],
        "Labels": labels(settings, session_id, origin),
        "AttachStdin": True,
        "AttachStdout": True,
        "AttachStderr": True,
        "OpenStdin": True,
        # The agent's stdin closes when the server's one attach ends (a crashed server too), and the agent
        # then kills everything and exits: no sandbox runs on unattended.
        "StdinOnce": True,
        "Tty": False,  # attach_agent relies on it: the agent's output is multiplexed, stdout apart from stderr
        "NetworkDisabled": True,
        # `docker stop` and a stopping engine send SIGTERM, then SIGKILL after this. The agent, as pid 1,
        # ignores SIGTERM by design (a program must not end its own sandbox), so a longer grace only keeps
        # the run's clients waiting for their `sandbox_lost` while dockerd shuts down.
        "StopTimeout": STOP_TIMEOUT_S,
        "HostConfig": host_config,
    }


def resource_limits(settings: Settings, limits: Limits) -> dict[str, int]:
    """The limits a run may ask to change, in Docker's terms: set when a container is made, and by `docker
    update` when a pooled container is handed to a run with other limits."""
    return {
        "Memory": limits.memory_bytes,
        "MemorySwap": limits.memory_bytes,  # equal to Memory: no swap at all
        "PidsLimit": host_pids_limit(settings, limits),
    }


def can_update(settings: Settings, made_with: Limits, wanted: Limits) -> bool:
    """Whether a container made with `made_with` becomes, by `docker update` of resource_limits, exactly the
    container `wanted` would have been made as. The tmpfs sizes follow the memory limit but are fixed when the
    container is made, so they must already match. gVisor's runsc does not apply updates to a running sandbox,
    so under it only a container with the very same limits will do."""
    if resource_limits(settings, made_with) == resource_limits(settings, wanted):
        return True
    return settings.runtime != "runsc" and tmpfs_mb(settings, made_with) == tmpfs_mb(settings, wanted)


def initial_isolation(settings: Settings) -> str:
    """The mode to try first. `auto` tries boxes under runc; under gVisor it keeps a container per run: gVisor's
    own kernel already stands between every container and the host, and bookworm's runsc (2022) cannot give a
    box its own mounts (see docs/security.md)."""
    if settings.isolation == "auto":
        return "container" if settings.runtime == "runsc" else "namespace"
    return settings.isolation


def labels(settings: Settings, session_id: str, origin: Origin = Origin.COLD) -> dict[str, str]:
    """What marks a sandbox as padbox's: its session, its server instance and, in a cluster, its node."""
    marks = {SESSION_LABEL: session_id, INSTANCE_LABEL: settings.instance, ORIGIN_LABEL: origin.value}
    if settings.clustered:
        marks[NODE_LABEL] = settings.node_id
    return marks


def leftover_filter(settings: Settings) -> list[str]:
    """The labels of sandboxes an earlier server of this instance (and node) may have left."""
    selected = [f"{INSTANCE_LABEL}={settings.instance}"]
    if settings.clustered:
        selected.append(f"{NODE_LABEL}={settings.node_id}")
    return selected


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


class DockerLink:
    """The attached stdin/stdout of a container's agent: the AgentLink of a Docker sandbox."""

    def __init__(self, container: DockerContainer, stream: Stream) -> None:
        self.container = container
        self.stream = stream
        self.closed = False  # the server detached (removal, or the watchdog's last resort)

    async def write(self, data: bytes) -> None:
        try:
            await self.stream.write_in(data)
        except (OSError, RuntimeError, AssertionError, aiodocker.DockerError) as exc:
            # aiodocker asserts when the connection under the stream is already gone
            if self.closed:
                raise SandboxError("the sandbox was removed") from exc
            raise SandboxLost(f"its input stream broke: {exc!r}") from exc

    async def read(self) -> bytes | None:
        """The agent's next output; None once it has ended, or broken (the engine stopped or restarted): the
        run engine then judges the end, which without an EXIT it did not ask for is a lost sandbox."""
        while True:
            try:
                message = await self.stream.read_out()
            except (OSError, AssertionError, aiohttp.ClientError, aiodocker.DockerError) as exc:
                if not self.closed:
                    log.warning("sandbox %s: its output stream broke: %r", self.container.id[:12], exc)
                return None
            if message is None:
                return None
            if message.stream == STDOUT_STREAM:
                return bytes(message.data)
            log.warning("sandbox %s agent: %s", self.container.id[:12], message.data.decode(errors="replace").strip())

    async def last_word(self) -> ProcessExit | None:
        """The output ended without the agent's EXIT. When the kernel killed the whole sandbox for its
        memory (under gVisor a memory bomb takes the sandbox, agent and all), say so on the agent's behalf."""
        if self.closed:
            return None
        state: dict[str, Any] = {}
        # Docker records the exit a moment after the output ends: on a quiet machine within 50 ms, but on a busy
        # one (CI at a load of 9 on 2 cores, gVisor's whole sandbox taken by the OOM killer) it took over a second,
        # and a memory bomb was then reported as a lost sandbox. Wait for the record, within a bound.
        deadline = asyncio.get_running_loop().time() + LAST_WORD_TIMEOUT_S
        while True:
            try:
                state = (await self.container.show()).get("State", {})
            except (aiodocker.DockerError, TimeoutError):  # the engine is gone too: it has nothing to say
                return None
            if not state.get("Running") or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.05)
        if state.get("OOMKilled"):
            return ProcessExit(code=None, signal="SIGKILL", oom=True)
        return None

    async def close(self) -> None:
        """Detach. This comes before removal: Docker does not finish stopping a container while an attached
        reader that has stopped reading (a session stuck on a client that stopped reading) holds its output."""
        self.closed = True
        await self.stream.close()


class DockerSandbox(AgentSandbox):
    """A container running the agent."""

    def __init__(self, link: DockerLink, run_id: str, liveness: Liveness) -> None:
        super().__init__(link, run_id, name=str(link.container.id)[:12], liveness=liveness)
        self.docker_link = link


AGENT_ATTACH_QUERY: dict[str, int | str] = {
    "stream": 1,
    "stdin": 1,
    "stdout": 1,
    "stderr": 1,
    "logs": 0,
    "detachKeys": "",
}


def attach_agent(client: aiodocker.Docker, container_id: str) -> Stream:
    """The agent's stdin, stdout and stderr, attached by one upgraded `POST /containers/{id}/attach`.

    aiodocker's `container.attach()` first inspects the container to learn whether it has a TTY. Ours never
    has one (`container_config` sets `"Tty": False`), so that inspect is a wasted Docker call per sandbox,
    and parsing its answer left about 21 KB more per idle session on the server's heap (docs/performance.md).
    With no timeout given, the Stream keeps the client's connect timeouts and drops the read and total ones,
    as `attach()` does."""

    async def setup() -> tuple[URL, bytes | None, bool]:
        return URL(f"containers/{container_id}/attach").with_query(AGENT_ATTACH_QUERY), None, False

    return Stream(client, setup)


def make_client() -> aiodocker.Docker:
    """An aiodocker client without aiohttp's default cap of 100 connections: every live sandbox
    holds one attach connection, and hundreds of idle interactive sessions are expected."""
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if host.startswith("unix://"):
        return aiodocker.Docker(
            url="unix://localhost", connector=aiohttp.UnixConnector(host[len("unix://") :], limit=0)
        )
    return aiodocker.Docker()


class DockerBackend:
    """The SandboxBackend on a Docker engine: one client per server process, and every container removal
    it has started."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: aiodocker.Docker | None = None
        self._tracked: set[asyncio.Task[Any]] = set()
        # Containers whose removal failed because the engine did not answer: removed once it answers again.
        self._unremoved: dict[str, DockerContainer] = {}
        self.liveness = Liveness(settings.ping_interval_s, settings.ping_timeout_s)
        self.isolation = initial_isolation(settings)

    def can_renew(self, sandbox: Sandbox) -> bool:
        """Whether a sandbox that served a run may host another: a box's container, young and used little."""
        assert isinstance(sandbox, DockerSandbox), "a sandbox this backend did not make"
        age = asyncio.get_running_loop().time() - sandbox.born
        return (
            sandbox.isolation == "namespace"
            and sandbox.runs < self.settings.runs_per_container
            and age < self.settings.container_max_age_s
        )

    async def renew(self, sandbox: Sandbox, run_id: str) -> bool:
        """A fresh box in the same container for the next run; False when the container must go instead (the
        run left it unclean: the memory or pids limit met, a process that survived the kill)."""
        assert isinstance(sandbox, DockerSandbox), "a sandbox this backend did not make"
        why = await sandbox.renew(run_id)
        if why:
            log.info("sandbox %s retired: %s", sandbox.name, why)
            return False
        return True

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
        self._remove_unremoved()
        return True

    def _remove_unremoved(self) -> None:
        """The engine answers again: remove what it could not remove while it was away (after a restart,
        the containers it stopped)."""
        while self._unremoved:
            _, container = self._unremoved.popitem()
            self.remove_soon(container)

    async def image_present(self) -> bool:
        try:
            await self.client.images.inspect(self.settings.image)
        except aiodocker.DockerError:
            return False
        return True

    async def create(self, limits: Limits, run_id: str, origin: Origin = Origin.COLD) -> DockerSandbox:
        """Create and start a container and wait for its agent.

        The work runs in a task of its own: a caller cancelled half-way (a client that left) cannot
        strand a container Docker has made but not yet named to us; the sandbox is discarded instead.
        """
        task = self.track(self._create(limits, run_id, origin))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(self._discard_unwanted)
            raise

    def _discard_unwanted(self, task: asyncio.Task[DockerSandbox]) -> None:
        if not task.cancelled() and task.exception() is None:
            self.discard(task.result())

    async def _create(self, limits: Limits, run_id: str, origin: Origin) -> DockerSandbox:
        boxes = self.isolation == "namespace"
        sandbox = await self._start(limits, run_id, origin, boxes)
        if not boxes or sandbox.isolation == "namespace":
            return sandbox
        # The agent could not make a box here. That container was made for boxes (a wider seccomp profile, an
        # unmasked /proc): it never runs a program. One container per run from now on, unless forced.
        self.discard(sandbox)
        if self.settings.isolation == "namespace":
            raise SandboxError(
                f"PADBOX_ISOLATION=namespace, but no per-run sandbox can be made: {sandbox.why_not_namespace}"
            )
        if self.isolation == "namespace":
            self.isolation = "container"
            log.warning(
                "per-run sandboxes are not possible here (%s): one container per run", sandbox.why_not_namespace
            )
        return await self._start(limits, run_id, origin, boxes=False)

    async def _start(self, limits: Limits, run_id: str, origin: Origin, boxes: bool) -> DockerSandbox:
        container: DockerContainer | None = None
        stream: Stream | None = None
        try:
            config = container_config(self.settings, limits, run_id, AGENT_COMMAND, origin, boxes)
            container = await self.client.containers.create(config=config)
            stream = attach_agent(self.client, container.id)
            await stream.__aenter__()
            await container.start()
            sandbox = DockerSandbox(DockerLink(container, stream), run_id, self.liveness)
            await sandbox.handshake(self.settings.sandbox_start_timeout_s)
            self._remove_unremoved()
            return sandbox
        except BaseException as exc:
            if stream is not None:
                await asyncio.shield(stream.close())
            if container is not None:
                self.remove_soon(container)
            if isinstance(exc, aiodocker.DockerError):
                raise SandboxError(f"Docker refused the sandbox: {exc.message}") from exc
            raise

    def can_adapt(self, made_with: Limits, wanted: Limits) -> bool:
        return can_update(self.settings, made_with, wanted)

    async def adapt(self, sandbox: Sandbox, made_with: Limits, wanted: Limits) -> None:
        """`docker update` of the memory, swap and pids limits of a started container (about 17 ms)."""
        assert isinstance(sandbox, DockerSandbox), "a sandbox this backend did not make"
        assert self.can_adapt(made_with, wanted), "limits the container cannot be given"
        changes = resource_limits(self.settings, wanted)
        if changes == resource_limits(self.settings, made_with):
            return
        container = sandbox.docker_link.container
        try:
            await self.client._query_json(f"containers/{container.id}/update", method="POST", data=changes)
        except (aiodocker.DockerError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise SandboxError(f"could not change the sandbox's limits: {exc}") from exc

    def discard(self, sandbox: Sandbox) -> None:
        """Detach from a sandbox and remove its container, in the background; never reused. Also the
        watchdog's last resort: the run's relay then sees the sandbox end."""
        assert isinstance(sandbox, DockerSandbox), "a sandbox this backend did not make"
        link = sandbox.docker_link
        sandbox.mark_ended()

        async def close_and_remove() -> None:
            await link.close()
            await self._remove(link.container)

        self.track(close_and_remove())

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
            except TimeoutError:
                self._remove_later(container)
                return
            except aiodocker.DockerError as exc:
                if exc.status == 404:
                    return
                if exc.status == 409 and attempt < 4:  # removal already in progress
                    await asyncio.sleep(0.2)
                    continue
                if exc.status == ENGINE_UNREACHABLE:
                    self._remove_later(container)
                    return
                log.error("could not remove container %s: %s", container.id[:12], exc)
                return

    def _remove_later(self, container: DockerContainer) -> None:
        log.warning(
            "could not remove container %s: the engine does not answer; removing it once it does", container.id[:12]
        )
        self._unremoved[container.id] = container

    async def reap_leftovers(self) -> int:
        """Remove containers a crashed server of this instance left behind."""
        filters = json.dumps({"label": leftover_filter(self.settings)})
        try:
            leftovers = await self.client.containers.list(all=True, filters=filters)
        except (aiodocker.DockerError, aiohttp.ClientError, OSError) as exc:
            raise SandboxError(f"could not list this instance's containers: {exc}") from exc
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

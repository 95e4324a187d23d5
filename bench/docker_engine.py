"""What the bench asks the Docker engine directly: the raw container ceiling, the warm pool's state, the runtimes.

The ceiling containers are made from padbox's own hardened definition (padbox.backends.docker.container_config),
so the comparison isolates what padbox adds on top of Docker, not what its sandbox settings cost.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from padbox.backends.docker import INSTANCE_LABEL, ORIGIN_LABEL, SESSION_LABEL, container_config, make_client
from padbox.config import Settings

CEILING_INSTANCE = "bench-ceiling"
HELLO = "print('hello')"
HELLO_ARGV = ["python3", "-c", HELLO]
QUIET_TIMEOUT_S = 60.0
QUIET_POLL_S = 0.05
# A pooled container is listed as running a moment before its agent reports ready.
QUIET_SETTLE_S = 0.15


@dataclass(frozen=True)
class Container:
    session: str
    origin: str  # "pool" or "cold"
    state: str  # Docker's: "created", "running", "exited", "removing", ...
    boxes: bool = False  # it hosts run after run (namespace mode): a used one is renewed, not removed


def quiet(containers: Collection[Container], pool_size: int, used: Collection[str]) -> bool:
    """The warm pool is full of unused sandboxes (or, in namespace mode, of running hosts that are renewed after
    each run) and no used sandbox is still being removed."""

    def ready(s: Container) -> bool:
        return s.state == "running" and (s.boxes or (s.origin == "pool" and s.session not in used))

    leftover = [s for s in containers if not ready(s) and (s.boxes or s.session in used or s.origin != "pool")]
    return sum(1 for s in containers if ready(s)) >= pool_size and not leftover


class Engine:
    """The bench's own aiodocker client."""

    def __init__(self) -> None:
        self.client = make_client()
        settings = Settings.from_env({"PADBOX_INSTANCE": CEILING_INSTANCE})
        self.ceiling_config = container_config(settings, settings.limits.defaults, "ceiling", HELLO_ARGV)

    async def close(self) -> None:
        await self.client.close()
        if self.client.connector is not None:
            await self.client.connector.close()

    async def info(self) -> dict[str, Any]:
        return dict(await self.client.system.info())

    async def version(self) -> dict[str, Any]:
        return dict(await self.client.version())

    async def runtimes(self) -> list[str]:
        return sorted((await self.info()).get("Runtimes", {}))

    async def ceiling_run(self) -> None:
        """One container through its whole life: create, start, wait, remove. Nothing else."""
        container = await self.client.containers.create(config=self.ceiling_config)
        try:
            await container.start()
            result = await container.wait()
            if result.get("StatusCode") != 0:
                raise RuntimeError(f"the ceiling container exited with {result}")
        finally:
            await container.delete(force=True)

    async def remove_ceiling_leftovers(self) -> None:
        """A bench interrupted half-way may leave ceiling containers behind; padbox's reaper never sees them."""
        for container in await self._containers(CEILING_INSTANCE, all_states=True):
            await container.delete(force=True)

    async def wait_until_quiet(self, instance: str, pool_size: int, used: Collection[str]) -> None:
        """Wait until the warm pool is full again and no container of an earlier run is left, so the
        next measurement starts from a server that is not still catching up with the previous one."""
        deadline = time.monotonic() + QUIET_TIMEOUT_S
        while not quiet(await self.sandboxes(instance), pool_size, used):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the padbox server did not settle within {QUIET_TIMEOUT_S:.0f} s")
            await asyncio.sleep(QUIET_POLL_S)
        await asyncio.sleep(QUIET_SETTLE_S)

    async def sandboxes(self, instance: str) -> list[Container]:
        """Every container a padbox instance has now, in any state."""
        return [
            Container(
                c["Labels"].get(SESSION_LABEL, ""),
                c["Labels"].get(ORIGIN_LABEL, ""),
                c["State"],
                "--boxes=" in str(c["Command"]),
            )
            for c in await self._containers(instance, all_states=True)
        ]

    async def _containers(self, instance: str, all_states: bool = False) -> list[Any]:
        filters = json.dumps({"label": [f"{INSTANCE_LABEL}={instance}"]})
        return list(await self.client.containers.list(all=all_states, filters=filters))

"""One node: the one object that owns the order in which the server starts and stops.

Start: the pads' store, the run engine (leftovers reaped, versions read, pool warmed), the pads (purge), the
question bank (its tables migrated in the pads' database, the starter set, its purge), then cluster membership
last, so no other node sends work here before it can be served.

Stop, in two steps. `leave` runs on the first signal while the server still serves: the pads are handed off to
the nodes that stay, the runs drain (no new ones; running ones go on to their end), then every pad socket and
every run still going is ended within the grace time. `stop` runs when the app ends: whatever `leave` did not
finish (a stop without a signal, a grace that ran out), then the question bank's test runs and purge, the
pads' purge, cluster membership, the store and the engine's client. `serve.py` and the app's lifespan call these
and nothing else.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from padbox.cluster.service import ClusterService
from padbox.core.runner import Readiness, Runner
from padbox.lsp.manager import LanguageHelp
from padbox.pads.service import Pads
from padbox.pads.store import PadStore
from padbox.questions.service import QuestionService

log = logging.getLogger("padbox")


@dataclass(frozen=True)
class Shutdown:
    """How the node leaves: `grace_s` for its sessions to end, `drain_s` for its runs to end by themselves
    first (0: none), `settle_s` for the load balancer to hear that it drains before new runs are refused."""

    grace_s: float
    drain_s: float = 0
    settle_s: float = 0


class Node:
    def __init__(
        self,
        store: PadStore,
        runner: Runner,
        pads: Pads,
        questions: QuestionService,
        cluster: ClusterService | None = None,
        shutdown: Shutdown = Shutdown(grace_s=10),
        help: LanguageHelp | None = None,
    ) -> None:
        self.store = store
        self.runner = runner
        self.pads = pads
        self.questions = questions
        self.cluster = cluster
        self.shutdown = shutdown
        self.help = help
        self._left = False

    async def start(self) -> None:
        """Store, runner, pads, question bank, cluster membership: each part starts after what it uses."""
        await self.store.open()
        await self.runner.start_up()
        await self.pads.start_up()
        await self.questions.start()
        if self.cluster is not None:
            await self.cluster.start()

    async def readiness(self) -> Readiness:
        """Whether runs can start here now (GET /readyz)."""
        return await self.runner.readiness()

    async def leave(self) -> None:
        """Hand off, drain, then end the pads' sockets and the runs within the grace time; while still serving."""
        if self._left:
            return
        self._left = True
        # Each step goes on when the one before failed (logged): a failed hand-off must not cut the drain short,
        # and a failed drain must not leave the sessions running.
        try:
            # A cluster node's pads go first, to the nodes that stay: their participants reconnect there at once
            # instead of waiting for this node's runs (a single server keeps its pads open until it stops).
            await self.pads.hand_off()
        except Exception:
            log.exception("handing the pads off failed: they close with the server")
        if self.shutdown.drain_s > 0:  # no new runs (the agent check says `drain`), while running ones go on
            try:
                left = await self.runner.drain(self.shutdown.drain_s, self.shutdown.settle_s)
                log.info("drained: %d session(s) still running after %.0f s", left, self.shutdown.drain_s)
            except Exception:
                log.exception("draining failed: the sessions are ended now")
        try:
            # Pad sockets first (their edits are stored already; open sockets would hold uvicorn's own
            # shutdown), then the runs, whose records the pads finish as the runs end.
            await asyncio.wait_for(self._end_sessions(), self.shutdown.grace_s)
        except TimeoutError:
            log.warning("sessions did not finish within %.0f s of shutdown", self.shutdown.grace_s)
        except Exception:  # the process still exits; the log says why the clean-up failed
            log.exception("shutting sessions down failed")

    async def _end_sessions(self) -> None:
        await asyncio.gather(self.pads.shut_down(), self.runner.shut_down(), self._end_help())

    async def _end_help(self) -> None:
        """Language-help sockets closed and language servers stopped, their sandboxes removed."""
        if self.help is not None:
            await self.help.shut_down()

    async def stop(self) -> None:
        """Pads, runner, question bank, membership, then the store and the engine's client: nothing is left
        running. The sessions are ended again (at once, whatever `leave` did): after a signal whose grace ran out,
        or a stop without a signal (a test's app), nothing of them outlives the node."""
        await self.pads.shut_down()
        await self._end_help()
        await self.runner.shut_down()
        await self.questions.stop()  # its test runs' runs have ended; it needs the store until then
        await self.pads.close()
        if self.cluster is not None:
            await self.cluster.stop()
        await self.store.close()
        await self.runner.close()

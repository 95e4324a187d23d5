"""`padbox serve` (and `python -m padbox`): uvicorn over the assembled app, shutting sessions down cleanly on
SIGTERM/SIGINT. Every setting comes from the environment (padbox.config)."""

from __future__ import annotations

import asyncio
import logging
import sys
from types import FrameType

import uvicorn

from padbox.assembly import assemble
from padbox.config import ConfigError, Settings
from padbox.core.access import RedactTokens
from padbox.core.runner import Runner
from padbox.pads.service import Pads
from padbox.web.app import Service, create_app
from padbox.web.questions import question_routes

AGENT_SETTLE_S = 2.5


class PadboxServer(uvicorn.Server):
    """uvicorn, but on the first signal every running session is told and its container removed
    before uvicorn begins its own shutdown (which would otherwise just drop the sockets)."""

    def __init__(
        self,
        config: uvicorn.Config,
        runner: Runner,
        pads: Pads,
        grace_s: float,
        drain_s: float = 0,
        settle_s: float = 0,
    ) -> None:
        super().__init__(config)
        self.runner = runner
        self.pads = pads
        self.grace_s = grace_s
        self.drain_s = drain_s
        self.settle_s = settle_s
        self.draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.draining:
            super().handle_exit(sig, frame)
            return
        self.draining = True
        loop = asyncio.get_event_loop()
        loop.call_soon_threadsafe(lambda: loop.create_task(self._drain_then_exit(sig, frame)))

    async def _drain_then_exit(self, sig: int, frame: FrameType | None) -> None:
        grace = self.grace_s
        log = logging.getLogger("padbox")
        # A cluster node's pads go first, to the nodes that stay: their participants reconnect there at once
        # instead of waiting for this node's runs (a single server keeps its pads open until it stops).
        await self.pads.hand_off()
        if self.drain_s > 0:  # no new runs (the agent check says `drain`), while running ones go on to their end
            left = await self.runner.drain(self.drain_s, self.settle_s)
            log.info("drained: %d session(s) still running after %.0f s", left, self.drain_s)
        try:
            # Pad sockets first (their edits are stored already; open sockets would hold uvicorn's own
            # shutdown), then the runs, whose records the pads finish as the runs end.
            await asyncio.wait_for(asyncio.gather(self.pads.shut_down(), self.runner.shut_down()), grace)
        except TimeoutError:
            logging.getLogger("padbox").warning("sessions did not finish within %.0f s of shutdown", grace)
        except Exception:  # the process still exits; the log says why the clean-up failed
            logging.getLogger("padbox").exception("shutting sessions down failed")
        finally:
            super().handle_exit(sig, frame)


def serve() -> None:
    """Serve until a signal; a setting that cannot be used stops the process with a message saying which."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
        assembly = assemble(settings)
        services: list[Service] = [assembly.questions, *([assembly.cluster] if assembly.cluster else [])]
        routes = question_routes(assembly.runner, assembly.pads, assembly.questions)
        app = create_app(assembly.runner, assembly.metrics, settings.image, assembly.pads, services, routes)
    except (ConfigError, ValueError, OSError) as exc:
        sys.exit(f"padbox: {exc}")
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws="websockets-sansio",
        ws_max_size=settings.max_message_bytes,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        lifespan="on",
        log_level="info",
        timeout_graceful_shutdown=3,
    )
    for name in ("uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).addFilter(RedactTokens())
    # With an agent check, HAProxy needs a few of its checks (1 s apart in deploy/) to hear `drain` before new
    # runs stop coming; until then they are still served here.
    settle = AGENT_SETTLE_S if settings.agent_port else 0
    PadboxServer(config, assembly.runner, assembly.pads, settings.shutdown_grace_s, settings.drain_s, settle).run()

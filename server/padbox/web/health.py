"""GET /readyz: whether this server can run programs now (for a load balancer). /healthz only says
the process answers.

Ready means: Docker answers, the runner image is present, start-up finished (the image's versions
read, the warm pool started: done here once the image appears, if it was missing at start), and the
server is not draining for shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

if TYPE_CHECKING:
    from padbox.web.app import Padbox

log = logging.getLogger("padbox.health")

PROBE_TIMEOUT_S = 3.0


async def _answers(check: Awaitable[bool]) -> bool:
    try:
        return await asyncio.wait_for(check, PROBE_TIMEOUT_S)
    except TimeoutError:
        return False


def readiness(image: str, docker: bool, present: bool, prepared: bool, draining: bool) -> dict[str, Any]:
    """The /readyz body: `ready`, and for each unmet condition a sentence an operator can act on."""
    problems = []
    if not docker:
        problems.append("no Docker engine answers (is the socket mounted? check DOCKER_HOST)")
    elif not present:
        problems.append(f"the runner image {image} is missing (build it with `make image`)")
    elif not prepared:
        problems.append("start-up has not finished (see the server log)")
    if draining:
        problems.append("the server is shutting down")
    return {"ready": not problems, "docker": docker, "image": present, "draining": draining, "problems": problems}


async def readyz(request: Request) -> Response:
    """GET /readyz: 200 when ready, else 503; both with the reasons."""
    padbox: Padbox = request.app.state.padbox
    docker = await _answers(padbox.docker.ping())
    present = docker and await _answers(padbox.docker.image_present())
    if present and not padbox.prepared:
        try:
            await padbox.prepare()
        except Exception as exc:  # noqa: BLE001 - reported as not ready, and logged
            log.error("could not finish start-up: %s", exc)
    body = readiness(padbox.settings.image, docker, present, padbox.prepared, padbox.draining)
    return JSONResponse(body, status_code=200 if body["ready"] else 503)

"""GET /readyz: whether this server can run programs now (for a load balancer). /healthz only says
the process answers.

Ready means: the engine answers, the runner image is present, start-up finished (the image's versions
read, the warm pool started: the Runner finishes it once the image appears, if it was missing at
start), and the server is not draining for shutdown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from padbox.core.runner import Readiness
from padbox.web.answers import ReadinessReport, answer
from padbox.web.http_runs import Endpoint


def readiness_body(state: Readiness, image: str) -> ReadinessReport:
    """The /readyz body: `ready`, and for each unmet condition a sentence an operator can act on."""
    problems = []
    if not state.engine:
        problems.append("no Docker engine answers (is the socket mounted? check DOCKER_HOST)")
    elif not state.image:
        problems.append(f"the runner image {image} is missing (build it with `make image`)")
    elif not state.prepared:
        problems.append("start-up has not finished (see the server log)")
    if state.draining:
        problems.append("the server is shutting down")
    return ReadinessReport(
        ready=state.ready,
        docker=state.engine,
        image=state.image,
        draining=state.draining,
        isolation=state.isolation,
        problems=problems,
    )


def readyz_endpoint(readiness: Callable[[], Awaitable[Readiness]], image: str) -> Endpoint:
    """GET /readyz: 200 when ready, else 503; both with the reasons."""

    async def endpoint(request: Request) -> Response:
        report = readiness_body(await readiness(), image)
        return answer(report, 200 if report.ready else 503)

    return endpoint


async def healthz(request: Request) -> Response:
    """GET /healthz: the process answers."""
    return PlainTextResponse("ok")

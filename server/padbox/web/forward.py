"""A pad's HTTP call forwarded to the pad's home node, when the proxy in front sent it to another node (a client
that reached a node directly, another proxy): the home's room must see a run started, the pad ended or a link
replaced, or its participants would not. HAProxy normally routes these to the home, so this is the fallback.

httpx is the client, as everywhere in padbox (the CLI, the tests, the bench); it passes the home's bytes
back undecoded. The answer is passed back as the home gave it; a home
that does not answer is `unavailable` with a retry hint: by the next try its claim has expired and another node
takes the pad.
"""

from __future__ import annotations

import logging

import httpx
from starlette.requests import Request
from starlette.responses import Response

from padbox.core.cluster import Unavailable
from padbox.web.http_runs import read_body
from padbox.web.relay import CONNECT_TIMEOUT_S, HOP_HEADER

log = logging.getLogger("padbox.forward")

PASSED_ON = ("authorization", "content-type", "origin", "host", "accept")  # the home checks the client as we did
PASSED_BACK = ("content-type", "content-disposition", "retry-after", "allow", "www-authenticate")
TIMEOUT_S = 30.0  # a forwarded call does what the pad API does: database work, a run's start


async def forward(request: Request, address: str, relayer: str, max_body: int) -> Response:
    """The call made again on the node at `address`, its answer returned as is."""
    body = await read_body(request, max_body)
    headers = {name: value for name, value in request.headers.items() if name in PASSED_ON}
    headers[HOP_HEADER] = relayer
    if request.client:
        headers["X-Forwarded-For"] = request.client.host
    url = f"http://{address}{request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
    timeout = httpx.Timeout(TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
    try:
        # trust_env off: a node's call to another node never goes through a proxy named in the environment.
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
            async with client.stream(request.method, url, content=body, headers=headers) as answer:
                content = b"".join([chunk async for chunk in answer.aiter_raw()])
                passed = {name: answer.headers[name] for name in PASSED_BACK if name in answer.headers}
                if "content-encoding" in answer.headers:
                    passed["content-encoding"] = answer.headers["content-encoding"]
                return Response(content, answer.status_code, passed)
    except (httpx.HTTPError, OSError, TimeoutError) as exc:
        log.info("forwarding %s %s to %s failed: %s", request.method, request.url.path, address, exc)
        raise Unavailable("the pad's server does not answer", 1) from None

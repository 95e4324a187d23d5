"""The one way a test waits for something that happens later: `eventually(predicate, timeout)`.

Polls quickly at first and then less often (1 ms doubling to 100 ms), so a fast condition costs a fast test and a
slow one costs little CPU. For "this did not happen", never wait and look: send a marker after the forbidden
message and wait for the marker instead, so that a slow server cannot pass the test by being slow. Inside one
event loop, `barrier()` is that marker: what was already scheduled has run when it returns.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable

FIRST_STEP_S = 0.001
LAST_STEP_S = 0.1


async def barrier() -> None:
    """Returns once every callback scheduled before it (a task just created, a timer due no later) has run: the
    loop runs them in order, so a forbidden outcome they could cause has happened by then or not at all."""
    marker = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(marker.set_result, None)
    await marker


async def eventually(predicate: Callable[[], object], timeout: float, what: str = "the condition") -> float:
    """Seconds until `predicate()` (or what it returns, when awaitable) was true; AssertionError naming `what`
    when it was not within `timeout` seconds."""
    loop = asyncio.get_running_loop()
    start, step = loop.time(), FIRST_STEP_S
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return loop.time() - start
        if loop.time() - start > timeout:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        await asyncio.sleep(step)
        step = min(step * 2, LAST_STEP_S)

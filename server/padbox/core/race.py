"""Two (or more) tasks raced: the first to end ends them all, and none outlives the race.

Every socket that both reads and writes (a run's participant, a pad socket, a relayed socket) and every HTTP run
that watches for its client leaving is such a race; each used to cancel and reap its tasks by hand.
"""

from __future__ import annotations

import asyncio
from typing import Any


async def race(*tasks: asyncio.Task[Any]) -> None:
    """Wait until the first of `tasks` ends, then cancel the others and wait for every one to finish, whichever
    way the race ends (the caller cancelled included). The caller reads each task's outcome afterwards."""
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

"""A Unix-socket relay to the Docker engine, run as its own process: a server pointed at it (DOCKER_HOST)
loses the engine when the relay is killed, every connection at once (its attach streams too), and finds it
again when a new relay listens. The same fault as a stopped dockerd, as this server sees it, without
stopping the engine every other test on the host uses.

Usage: python -m tests.faults.engine_proxy LISTEN_SOCKET ENGINE_SOCKET"""

from __future__ import annotations

import asyncio
import os
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def _relay(listen: str, engine: str) -> None:
    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        engine_reader, engine_writer = await asyncio.open_unix_connection(engine)
        await asyncio.gather(_pipe(reader, engine_writer), _pipe(engine_reader, writer))

    if os.path.exists(listen):
        os.unlink(listen)
    server = await asyncio.start_unix_server(connection, listen)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(_relay(sys.argv[1], sys.argv[2]))

"""The question bank on PostgreSQL, the cluster's database: its Alembic migration run by nodes starting at once
(each takes the advisory lock in turn), and the question API and Run tests served by different nodes over it.

The cluster fixture (conftest.py) starts PostgreSQL from Debian's packages on a fresh data directory and its three
nodes together, so every node migrated the same empty database at start-up; a missing PostgreSQL fails loudly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from padbox.questions.store import VERSION_TABLE, QuestionStore
from padbox_dev.local_cluster import LocalCluster
from tests.pads_client import Events

TOKEN = "questions"  # an operator token too: the cluster has no PADBOX_ADMIN_TOKENS
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BANK = Path(__file__).resolve().parents[2] / "server" / "padbox" / "questions" / "bank"
HEAD = "0001"


@pytest.fixture
async def engine(cluster: LocalCluster) -> AsyncIterator[AsyncEngine]:
    made = create_async_engine(cluster.layout.database_url)
    yield made
    await made.dispose()


async def versions(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return [v for (v,) in await connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))]


async def test_nodes_started_together_migrated_once_and_imported_the_starter_set_once(
    cluster: LocalCluster, engine: AsyncEngine
) -> None:
    assert await versions(engine) == [HEAD]
    async with engine.connect() as connection:
        slugs = [s for (s,) in await connection.execute(sa.text("SELECT slug FROM questions ORDER BY slug"))]
    assert slugs == sorted(d.name for d in BANK.iterdir() if (d / "question.yaml").exists())
    for node in cluster.layout.node_ids():
        assert "Traceback" not in cluster.log(node), cluster.log(node)[-3000:]


async def test_stores_migrating_a_fresh_database_at_once_take_turns(engine: AsyncEngine, cluster: LocalCluster) -> None:
    name = "questions_fresh"
    async with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
        await connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        await connection.execute(sa.text(f"CREATE DATABASE {name}"))
    fresh = [create_async_engine(cluster.layout.database_url.rsplit("/", 1)[0] + f"/{name}") for _ in range(3)]
    try:
        await asyncio.gather(*(QuestionStore(e).open() for e in fresh))  # three nodes' start-up at once
        assert await versions(fresh[0]) == [HEAD]
        stores = [QuestionStore(e) for e in fresh]
        assert [await s.count() for s in stores] == [0, 0, 0]
    finally:
        for made in fresh:
            await made.dispose()


def question(slug: str, title: str) -> dict[str, Any]:
    return {
        "slug": slug,
        "title": title,
        "description": "Echo the line, 100% of it.",
        "tags": ["pg"],
        "starters": [{"language": "python", "file": "main.py", "content": "print(input())\n"}],
        "cases": [
            {"name": "one", "stdin": "a\n", "expected": "a\n"},
            {"name": "two", "stdin": "b c\n", "expected": "b c\n"},
            {"name": "secret", "stdin": "z\n", "expected": "z\n", "visibility": "hidden"},
        ],
    }


async def test_the_question_api_and_run_tests_work_on_postgresql_across_nodes(cluster: LocalCluster) -> None:
    a, b, c = (cluster.layout.node_url(n) for n in cluster.layout.node_ids())
    async with httpx.AsyncClient(timeout=30, headers=AUTH) as http:
        # The same new slug written on two nodes at once: one creates it, the other replaces it; neither fails.
        racing = await asyncio.gather(
            *(http.put(f"{node}/api/v1/questions/pg-echo", json=question("pg-echo", "PG Echo")) for node in (a, b))
        )
        assert sorted(r.status_code for r in racing) == [200, 201], [r.text for r in racing]
        shown = (await http.get(f"{c}/api/v1/questions/pg-echo")).json()
        assert shown["title"] == "PG Echo" and shown["hidden_cases"] == 1 and len(shown["cases"]) == 3
        found = (await http.get(f"{a}/api/v1/questions", params={"q": "100%", "tag": "pg"})).json()["questions"]
        assert [q["slug"] for q in found] == ["pg-echo"]  # LIKE with its escapes, on PostgreSQL
        assert (await http.get(f"{b}/api/v1/questions", params={"q": "100_"})).json()["questions"] == []

        created = await http.post(f"{cluster.layout.front_url}/api/v1/pads", json={"question": "pg-echo"})
        assert created.status_code == 201, created.text
        pad = created.json()
        events = await Events.connect(
            f"ws://127.0.0.1:{cluster.layout.front_port}", pad["id"], pad["keys"]["edit"], "Carl", headers=AUTH
        )
        try:
            await events.next_of("pad")
            await events.send({"type": "run_tests"})
            finished = await events.next_of("test_run_finished", timeout=120)
        finally:
            await events.close()
        assert finished["summary"] == "3/3 passed", events.messages
        for node in (a, b, c):  # the history is in PostgreSQL, whichever node answers
            history = await http.get(f"{node}/api/v1/pads/{pad['id']}/tests", params={"key": pad["keys"]["owner"]})
            assert [h["summary"] for h in history.json()["test_runs"]] == ["3/3 passed"], history.text

        assert (await http.delete(f"{c}/api/v1/questions/pg-echo")).status_code == 204
        assert (await http.get(f"{a}/api/v1/questions/pg-echo")).status_code == 404

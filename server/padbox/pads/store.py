"""Where pads outlive the server: the pads, every accepted update with its time and author, the runs, the
owner's notes. SQLAlchemy 2's asyncio layer: SQLite through aiosqlite by default (a file in PADBOX_DATA_DIR,
no set-up), PostgreSQL through asyncpg for a cluster, with the same code: Core statements only, portable
types (LargeBinary for updates, Text for JSON), no dialect's own SQL. Only SQLite gets pragmas (below).

Durability: `append_update` returns once its transaction has committed, and a room relays an update only
after that, so an edit anyone has seen survives a SIGKILL of the server.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from padbox.pads.model import PadRole

metadata = sa.MetaData()

pads = sa.Table(
    "pads",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("title", sa.String(256), nullable=False),
    sa.Column("language", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("active_at", sa.Float, nullable=False, index=True),  # last activity: what retention counts from
    sa.Column("ended_at", sa.Float, nullable=True),
    sa.Column("owner_key", sa.String(64), nullable=False),  # SHA-256 digests, never the keys (model.key_digest)
    sa.Column("edit_key", sa.String(64), nullable=False),
    sa.Column("view_key", sa.String(64), nullable=False),
    sa.Column("notes", sa.Text, nullable=False, default=""),
)

updates = sa.Table(
    "pad_updates",
    metadata,
    sa.Column("pad_id", sa.String(32), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("author_name", sa.String(128), nullable=False),
    sa.Column("author_role", sa.String(16), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

runs = sa.Table(
    "pad_runs",
    metadata,
    sa.Column("pad_id", sa.String(32), primary_key=True),
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("author_name", sa.String(128), nullable=False),
    sa.Column("author_role", sa.String(16), nullable=False),
    sa.Column("language", sa.String(64), nullable=False),
    sa.Column("files", sa.Text, nullable=False),  # JSON: [{"name", "content"}]
    sa.Column("output", sa.Text, nullable=False, default=""),
    sa.Column("truncated", sa.Boolean, nullable=False, default=False),
    sa.Column("verdict", sa.String(32), nullable=True),
    sa.Column("exit_code", sa.Integer, nullable=True),
    sa.Column("signal", sa.String(16), nullable=True),
    sa.Column("usage", sa.Text, nullable=True),  # JSON
    sa.Column("error", sa.Text, nullable=True),  # JSON: {"code", "message"}
)

# The owner's settings of a pad (language help on or off), as a log: the last row of a setting is its value, and
# every row is a history entry with its time and author. A table of its own, so databases made before it get it
# from `create_all` (a column added to `pads` would need a migration).
settings = sa.Table(
    "pad_settings",
    metadata,
    sa.Column("pad_id", sa.String(32), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("author_name", sa.String(128), nullable=False),
    sa.Column("author_role", sa.String(16), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("value", sa.Text, nullable=False),  # JSON
)

SCHEMA_LOCK_KEY = 0x7061646278  # "padbx": the advisory lock the nodes take while creating the schema
KEY_COLUMNS = {PadRole.OWNER: "owner_key", PadRole.EDIT: "edit_key", PadRole.VIEW: "view_key"}


class StorageFailed(Exception):
    """The pads' database could not be reached, or failed a statement: the pads' own error, so nothing above
    the store knows which database library is underneath."""


P = ParamSpec("P")
R = TypeVar("R")


def _storage(method: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """A store method whose database errors leave it as StorageFailed (SeqTaken, a pad's own, passes as is)."""

    @functools.wraps(method)
    async def translated(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except (OSError, sa.exc.SQLAlchemyError) as exc:
            raise StorageFailed(str(exc)) from exc

    return translated


class SeqTaken(Exception):
    """Another room stored this sequence number of the pad first: two nodes held the pad for a moment (a
    takeover racing the old home). The primary key refuses the second writer, so stored history never forks."""


@dataclass(frozen=True)
class Author:
    name: str
    role: PadRole


@dataclass(frozen=True)
class PadRecord:
    id: str
    title: str
    language: str
    created_at: float
    active_at: float
    ended_at: float | None
    keys: Mapping[PadRole, str]  # digests


@dataclass(frozen=True)
class UpdateRecord:
    seq: int
    at: float
    author: Author
    data: bytes


@dataclass(frozen=True)
class SettingRecord:
    at: float
    author: Author
    name: str
    value: Any


@dataclass(frozen=True)
class RunStart:
    run_id: str
    at: float
    author: Author
    language: str
    files: Sequence[Mapping[str, str]]


@dataclass(frozen=True)
class RunEnd:
    finished_at: float
    output: str
    truncated: bool
    verdict: str | None
    exit_code: int | None
    signal: str | None
    usage: Mapping[str, Any] | None
    error: Mapping[str, str] | None


@dataclass(frozen=True)
class RunRecord:
    start: RunStart
    end: RunEnd | None


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """WAL: readers never wait for the writer; synchronous=NORMAL under WAL loses nothing when the process is
    killed (only an OS crash can lose the last commits); a busy timeout rather than `database is locked`."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class PadStore:
    """Every read and write of pads, as typed values; one engine (a pool of connections) per server."""

    def __init__(self, url: str) -> None:
        self.url = url
        sqlite = url.startswith("sqlite")
        if sqlite and ":///" in url:
            Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        self.engine: AsyncEngine = create_async_engine(url, pool_pre_ping=not sqlite)
        if sqlite:
            sync_engine: Engine = self.engine.sync_engine
            event.listen(sync_engine, "connect", _sqlite_pragmas)

    @_storage
    async def open(self) -> None:
        """Create the tables that are missing.

        Nodes of a cluster start together on one PostgreSQL, and two concurrent CREATE TABLEs of the same
        table collide in PostgreSQL's catalogue (a unique violation on pg_type) even with IF NOT EXISTS: a
        transaction-scoped advisory lock makes the nodes create the schema one after the other."""
        async with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            await connection.run_sync(metadata.create_all)

    async def close(self) -> None:
        await self.engine.dispose()

    # --- pads ---------------------------------------------------------------------------------------
    @_storage
    async def create(self, pad: PadRecord, first: UpdateRecord) -> None:
        """A new pad and its first update (the document as created), in one transaction."""
        async with self.engine.begin() as connection:
            await connection.execute(
                pads.insert().values(
                    id=pad.id,
                    title=pad.title,
                    language=pad.language,
                    created_at=pad.created_at,
                    active_at=pad.active_at,
                    ended_at=pad.ended_at,
                    notes="",
                    **{KEY_COLUMNS[role]: digest for role, digest in pad.keys.items()},
                )
            )
            await connection.execute(updates.insert().values(**_update_row(pad.id, first)))

    @_storage
    async def get(self, pad_id: str) -> PadRecord | None:
        async with self.engine.connect() as connection:
            row = (await connection.execute(pads.select().where(pads.c.id == pad_id))).mappings().first()
        if row is None:
            return None
        return PadRecord(
            id=row["id"],
            title=row["title"],
            language=row["language"],
            created_at=row["created_at"],
            active_at=row["active_at"],
            ended_at=row["ended_at"],
            keys={role: row[column] for role, column in KEY_COLUMNS.items()},
        )

    @_storage
    async def set_key(self, pad_id: str, role: PadRole, digest: str) -> None:
        await self._update_pad(pad_id, **{KEY_COLUMNS[role]: digest})

    @_storage
    async def end(self, pad_id: str, at: float) -> None:
        await self._update_pad(pad_id, ended_at=at, active_at=at)

    @_storage
    async def describe(self, pad_id: str, title: str, language: str) -> None:
        """The title and language as the document now says (the pad's listing columns follow its meta)."""
        await self._update_pad(pad_id, title=title[:256], language=language[:64])

    @_storage
    async def notes(self, pad_id: str) -> str:
        async with self.engine.connect() as connection:
            found = await connection.scalar(sa.select(pads.c.notes).where(pads.c.id == pad_id))
        return str(found or "")

    @_storage
    async def set_notes(self, pad_id: str, notes: str, at: float) -> None:
        await self._update_pad(pad_id, notes=notes, active_at=at)

    async def _update_pad(self, pad_id: str, **values: Any) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(pads.update().where(pads.c.id == pad_id).values(**values))

    # --- updates ------------------------------------------------------------------------------------
    @_storage
    async def append_update(self, pad_id: str, update: UpdateRecord) -> None:
        """Store one accepted update; returns once it is committed. The pad's activity time moves with it.
        SeqTaken when another room wrote that sequence number first."""
        try:
            async with self.engine.begin() as connection:
                await connection.execute(updates.insert().values(**_update_row(pad_id, update)))
                await connection.execute(pads.update().where(pads.c.id == pad_id).values(active_at=update.at))
        except sa.exc.IntegrityError as exc:
            raise SeqTaken(f"pad {pad_id}: update {update.seq} was stored by another room") from exc

    @_storage
    async def updates(self, pad_id: str) -> list[UpdateRecord]:
        """Every update of a pad in order: applied to an empty document, they rebuild it at any point."""
        query = updates.select().where(updates.c.pad_id == pad_id).order_by(updates.c.seq)
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [
            UpdateRecord(row["seq"], row["at"], Author(row["author_name"], PadRole(row["author_role"])), row["data"])
            for row in rows
        ]

    # --- the owner's settings -----------------------------------------------------------------------
    @_storage
    async def set_setting(self, pad_id: str, record: SettingRecord) -> None:
        """Record a setting's new value (the pad's activity time moves with it)."""
        async with self.engine.begin() as connection:
            last = await connection.scalar(sa.select(sa.func.max(settings.c.seq)).where(settings.c.pad_id == pad_id))
            await connection.execute(
                settings.insert().values(
                    pad_id=pad_id,
                    seq=(last or 0) + 1,
                    at=record.at,
                    author_name=record.author.name,
                    author_role=record.author.role.value,
                    name=record.name,
                    value=json.dumps(record.value),
                )
            )
            await connection.execute(pads.update().where(pads.c.id == pad_id).values(active_at=record.at))

    @_storage
    async def settings(self, pad_id: str) -> list[SettingRecord]:
        """Every setting change of a pad, oldest first."""
        query = settings.select().where(settings.c.pad_id == pad_id).order_by(settings.c.seq)
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [
            SettingRecord(
                row["at"],
                Author(row["author_name"], PadRole(row["author_role"])),
                row["name"],
                json.loads(row["value"]),
            )
            for row in rows
        ]

    async def setting(self, pad_id: str, name: str, default: Any) -> Any:
        """A setting's current value (its last change), else `default`."""
        value = default
        for record in await self.settings(pad_id):
            if record.name == name:
                value = record.value
        return value

    # --- runs ---------------------------------------------------------------------------------------
    @_storage
    async def run_started(self, pad_id: str, run: RunStart) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                runs.insert().values(
                    pad_id=pad_id,
                    run_id=run.run_id,
                    at=run.at,
                    author_name=run.author.name,
                    author_role=run.author.role.value,
                    language=run.language,
                    files=json.dumps(list(map(dict, run.files))),
                    output="",
                    truncated=False,
                )
            )
            await connection.execute(pads.update().where(pads.c.id == pad_id).values(active_at=run.at))

    @_storage
    async def run_finished(self, pad_id: str, run_id: str, end: RunEnd) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                runs.update()
                .where(runs.c.pad_id == pad_id, runs.c.run_id == run_id)
                .values(
                    finished_at=end.finished_at,
                    output=end.output,
                    truncated=end.truncated,
                    verdict=end.verdict,
                    exit_code=end.exit_code,
                    signal=end.signal,
                    usage=None if end.usage is None else json.dumps(dict(end.usage)),
                    error=None if end.error is None else json.dumps(dict(end.error)),
                )
            )

    @_storage
    async def runs(self, pad_id: str) -> list[RunRecord]:
        query = runs.select().where(runs.c.pad_id == pad_id).order_by(runs.c.at)
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_run_record(row) for row in rows]

    # --- retention ----------------------------------------------------------------------------------
    @_storage
    async def purge(self, inactive_before: float, keep: frozenset[str] = frozenset()) -> list[str]:
        """Delete every pad whose last activity is before `inactive_before`, with its updates and runs (but
        not the pads in `keep`: open ones). Returns the ids purged."""
        async with self.engine.begin() as connection:
            stale = [
                str(pad_id)
                for pad_id in (await connection.scalars(sa.select(pads.c.id).where(pads.c.active_at < inactive_before)))
                if pad_id not in keep
            ]
            for chunk in _chunks(stale, 500):
                await connection.execute(updates.delete().where(updates.c.pad_id.in_(chunk)))
                await connection.execute(runs.delete().where(runs.c.pad_id.in_(chunk)))
                await connection.execute(settings.delete().where(settings.c.pad_id.in_(chunk)))
                await connection.execute(pads.delete().where(pads.c.id.in_(chunk)))
        return stale


def _update_row(pad_id: str, update: UpdateRecord) -> dict[str, Any]:
    return {
        "pad_id": pad_id,
        "seq": update.seq,
        "at": update.at,
        "author_name": update.author.name,
        "author_role": update.author.role.value,
        "data": update.data,
    }


def _run_record(row: Any) -> RunRecord:
    start = RunStart(
        run_id=row["run_id"],
        at=row["at"],
        author=Author(row["author_name"], PadRole(row["author_role"])),
        language=row["language"],
        files=json.loads(row["files"]),
    )
    if row["finished_at"] is None:
        return RunRecord(start, None)
    end = RunEnd(
        finished_at=row["finished_at"],
        output=row["output"],
        truncated=bool(row["truncated"]),
        verdict=row["verdict"],
        exit_code=row["exit_code"],
        signal=row["signal"],
        usage=None if row["usage"] is None else json.loads(row["usage"]),
        error=None if row["error"] is None else json.loads(row["error"]),
    )
    return RunRecord(start, end)


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]

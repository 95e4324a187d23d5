"""Where questions live: in the pads' database (SQLite by default, PostgreSQL in a cluster), on the pads' engine,
in tables of their own that Alembic migrates (questions/migrations). The pads' own tables are still made by
`create_all` (pads/store.py); these never are.

Also here: which question a pad is on, and the pad's test runs (its history of "Run tests").
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from padbox.questions.model import Comparison, Difficulty, Question, Starter, TestCase, Visibility

VERSION_TABLE = "questions_alembic_version"  # apart from any table of the pads, or of an operator's own Alembic
SCHEMA_LOCK_KEY = 0x7061647175  # "padqu": the advisory lock the nodes take while migrating or writing questions
MIGRATIONS = Path(str(resources.files("padbox.questions").joinpath("migrations")))

metadata = sa.MetaData()

questions = sa.Table(
    "questions",
    metadata,
    sa.Column("slug", sa.String(64), primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("difficulty", sa.String(16), nullable=False),
    sa.Column("starters", sa.Text, nullable=False),  # JSON: [{"language", "file", "content"}]
    sa.Column("search", sa.Text, nullable=False),  # title and description, lower case: what text search reads
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

tags = sa.Table(
    "question_tags",
    metadata,
    sa.Column("slug", sa.String(64), sa.ForeignKey("questions.slug", ondelete="CASCADE"), primary_key=True),
    sa.Column("tag", sa.String(32), primary_key=True),
)

cases = sa.Table(
    "question_cases",
    metadata,
    sa.Column("slug", sa.String(64), sa.ForeignKey("questions.slug", ondelete="CASCADE"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("stdin", sa.Text, nullable=False),
    sa.Column("expected", sa.Text, nullable=False),
    sa.Column("compare", sa.String(16), nullable=False),
    sa.Column("tolerance", sa.Float, nullable=False),
    sa.Column("visibility", sa.String(16), nullable=False),
    sa.Column("time_limit_s", sa.Float, nullable=True),
)

pad_questions = sa.Table(
    "pad_questions",
    metadata,
    sa.Column("pad_id", sa.String(32), primary_key=True),
    sa.Column("slug", sa.String(64), nullable=False),
    sa.Column("attached_at", sa.Float, nullable=False),
)

test_runs = sa.Table(
    "pad_test_runs",
    metadata,
    sa.Column("pad_id", sa.String(32), primary_key=True),
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("author_name", sa.String(128), nullable=False),
    sa.Column("author_role", sa.String(16), nullable=False),
    sa.Column("language", sa.String(64), nullable=False),
    sa.Column("slug", sa.String(64), nullable=True),
    sa.Column("files", sa.Text, nullable=False),  # JSON: [{"name", "content"}]
    sa.Column("passed", sa.Integer, nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("summary", sa.String(200), nullable=False),
    sa.Column("results", sa.Text, nullable=False),  # JSON: every case's full result (owner's view)
)


@dataclass(frozen=True)
class TestRunRecord:
    """One "Run tests" in a pad's history."""

    __test__ = False

    run_id: str
    at: float
    finished_at: float | None
    author: dict[str, str]
    language: str
    slug: str | None
    files: list[dict[str, str]]
    passed: int
    total: int
    summary: str
    results: list[dict[str, Any]]


def migrate(connection: sa.Connection) -> None:
    """Bring the question tables to the newest revision, on an open (synchronous) connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


class QuestionStore:
    """Every read and write of questions, as typed values."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def open(self) -> None:
        """Migrate; nodes of a cluster starting together take turns."""
        async with self.engine.begin() as connection:
            await _take_turns(connection)
            await connection.run_sync(migrate)

    # --- questions ----------------------------------------------------------------------------------------
    async def put(self, question: Question) -> bool:
        """Create or replace a question by its slug; True when it was new."""
        return (await self.put_all([question]))[0]

    async def put_all(self, many: list[Question], into_empty: bool = False) -> list[bool]:
        """Several questions in one transaction: all of them or none (an import). `into_empty`: only into an empty
        bank (the starter set, which nodes starting together would otherwise each import); [] when it is not."""
        async with self.engine.begin() as connection:
            await _take_turns(connection)  # a replace by slug reads, then inserts or updates
            if into_empty and await connection.scalar(sa.select(sa.func.count()).select_from(questions)):
                return []
            created = []
            for question in many:
                created.append(await self._put_in(connection, question))
        return created

    async def _put_in(self, connection: Any, question: Question) -> bool:
        """Replace by slug: the row updated (its creation time kept), its tags and cases written again."""
        now = time.time()
        exists = await connection.scalar(sa.select(questions.c.created_at).where(questions.c.slug == question.slug))
        row = {
            "title": question.title,
            "description": question.description,
            "difficulty": question.difficulty.value,
            "starters": msgspec.json.encode(question.starters).decode(),
            "search": f"{question.title}\n{question.description}".lower(),
            "updated_at": now,
        }
        if exists is None:
            await connection.execute(questions.insert().values(slug=question.slug, created_at=now, **row))
        else:
            await connection.execute(questions.update().where(questions.c.slug == question.slug).values(**row))
        await self._delete_parts(connection, question.slug)
        if question.tags:
            await connection.execute(tags.insert(), [{"slug": question.slug, "tag": t} for t in question.tags])
        if question.cases:
            await connection.execute(
                cases.insert(), [_case_row(question.slug, i, case) for i, case in enumerate(question.cases)]
            )
        return exists is None

    async def _delete_parts(self, connection: Any, slug: str) -> None:
        await connection.execute(tags.delete().where(tags.c.slug == slug))
        await connection.execute(cases.delete().where(cases.c.slug == slug))

    async def delete(self, slug: str) -> bool:
        async with self.engine.begin() as connection:
            await self._delete_parts(connection, slug)
            result = await connection.execute(questions.delete().where(questions.c.slug == slug))
        return bool(result.rowcount)

    async def get(self, slug: str) -> Question | None:
        async with self.engine.connect() as connection:
            row = (await connection.execute(questions.select().where(questions.c.slug == slug))).mappings().first()
            if row is None:
                return None
            tag_rows = await connection.execute(sa.select(tags.c.tag).where(tags.c.slug == slug).order_by(tags.c.tag))
            case_rows = await connection.execute(cases.select().where(cases.c.slug == slug).order_by(cases.c.position))
            return _question(row, [t for (t,) in tag_rows], [_case(c) for c in case_rows.mappings()])

    async def search(self, text: str = "", tag: str = "", limit: int = 100) -> list[Question]:
        """Questions whose title or description holds `text` (any case) and that carry `tag`, by title."""
        query = sa.select(questions.c.slug).order_by(questions.c.title, questions.c.slug).limit(limit)
        if text:
            escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(questions.c.search.like(f"%{escaped}%", escape="\\"))
        if tag:
            query = query.where(questions.c.slug.in_(sa.select(tags.c.slug).where(tags.c.tag == tag)))
        async with self.engine.connect() as connection:
            slugs = [slug for (slug,) in await connection.execute(query)]
        found = [await self.get(slug) for slug in slugs]
        return [q for q in found if q is not None]

    async def count(self) -> int:
        async with self.engine.connect() as connection:
            return int(await connection.scalar(sa.select(sa.func.count()).select_from(questions)) or 0)

    # --- pads ---------------------------------------------------------------------------------------------
    async def attach(self, pad_id: str, slug: str) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(pad_questions.delete().where(pad_questions.c.pad_id == pad_id))
            await connection.execute(pad_questions.insert().values(pad_id=pad_id, slug=slug, attached_at=time.time()))

    async def attached(self, pad_id: str) -> str | None:
        async with self.engine.connect() as connection:
            slug = await connection.scalar(sa.select(pad_questions.c.slug).where(pad_questions.c.pad_id == pad_id))
        return str(slug) if slug is not None else None

    async def record_test_run(self, pad_id: str, record: TestRunRecord) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                test_runs.insert().values(
                    pad_id=pad_id,
                    run_id=record.run_id,
                    at=record.at,
                    finished_at=record.finished_at,
                    author_name=record.author["name"],
                    author_role=record.author["role"],
                    language=record.language,
                    slug=record.slug,
                    files=json.dumps(record.files),
                    passed=record.passed,
                    total=record.total,
                    summary=record.summary,
                    results=json.dumps(record.results),
                )
            )

    async def test_runs(self, pad_id: str) -> list[TestRunRecord]:
        query = test_runs.select().where(test_runs.c.pad_id == pad_id).order_by(test_runs.c.at)
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [
            TestRunRecord(
                run_id=r["run_id"],
                at=r["at"],
                finished_at=r["finished_at"],
                author={"name": r["author_name"], "role": r["author_role"]},
                language=r["language"],
                slug=r["slug"],
                files=json.loads(r["files"]),
                passed=r["passed"],
                total=r["total"],
                summary=r["summary"],
                results=json.loads(r["results"]),
            )
            for r in rows
        ]

    async def forget_gone_pads(self) -> int:
        """Remove what belonged to pads that were purged (pads/store.py's retention knows nothing of these)."""
        pads = sa.table("pads", sa.column("id"))
        async with self.engine.begin() as connection:
            removed = 0
            for table in (pad_questions, test_runs):
                result = await connection.execute(table.delete().where(table.c.pad_id.not_in(sa.select(pads.c.id))))
                removed += result.rowcount
        return removed


async def _take_turns(connection: AsyncConnection) -> None:
    """On PostgreSQL, nodes writing the bank's schema or questions take turns, until the transaction ends (an
    advisory lock); SQLite has one writer at a time anyway."""
    if connection.dialect.name == "postgresql":
        await connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})


def _case_row(slug: str, position: int, case: TestCase) -> dict[str, Any]:
    return {
        "slug": slug,
        "position": position,
        "name": case.name,
        "stdin": case.stdin,
        "expected": case.expected,
        "compare": case.compare.value,
        "tolerance": case.tolerance,
        "visibility": case.visibility.value,
        "time_limit_s": case.time_limit_s,
    }


def _case(row: Any) -> TestCase:
    return TestCase(
        name=row["name"],
        stdin=row["stdin"],
        expected=row["expected"],
        compare=Comparison(row["compare"]),
        tolerance=row["tolerance"],
        visibility=Visibility(row["visibility"]),
        time_limit_s=row["time_limit_s"],
    )


def _question(row: Any, tag_list: list[str], case_list: list[TestCase]) -> Question:
    return Question(
        slug=row["slug"],
        title=row["title"],
        description=row["description"],
        difficulty=Difficulty(row["difficulty"]),
        tags=tuple(tag_list),
        starters=msgspec.json.decode(row["starters"], type=tuple[Starter, ...]),
        cases=tuple(case_list),
    )

"""Alembic's entry for the question bank's migrations. padbox runs them itself (questions/store.py, at start-up and
from `padbox questions migrate`), handing over its open connection; `alembic` on the command line is not needed."""

from __future__ import annotations

from alembic import context

from padbox.questions.store import VERSION_TABLE, metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()

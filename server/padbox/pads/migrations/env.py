"""Alembic's entry for the pads' migrated tables (pads/tables.py). padbox runs them itself at start-up (pads/store.py,
`PadStore.open`), handing over its open connection; `alembic` on the command line is not needed."""

from __future__ import annotations

from alembic import context

from padbox.pads.tables import VERSION_TABLE, metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()

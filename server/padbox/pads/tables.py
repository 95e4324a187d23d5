"""The pads' tables that Alembic migrates (pads/migrations, version table `pads_alembic_version`): the timeline's
marks (pastes, focus, the owner's pinned notes), each run's transcript (output and typed input with times), the
webhook outbox, and the owner's settings. The pads' first tables (store.py) are still made by `create_all`; every
table added since is a migration here, so an existing database gains them at start-up without losing anything.
"""

from __future__ import annotations

import sqlalchemy as sa

VERSION_TABLE = "pads_alembic_version"

metadata = sa.MetaData()

marks = sa.Table(
    "pad_marks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("pad_id", sa.String(32), nullable=False, index=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # timeline.MarkKind
    sa.Column("author_name", sa.String(128), nullable=False),
    sa.Column("author_role", sa.String(16), nullable=False),
    sa.Column("size", sa.Integer, nullable=True),  # a paste's characters
    sa.Column("text", sa.Text, nullable=True),  # a note's text (owner only, ever)
)

transcripts = sa.Table(
    "pad_run_transcripts",
    metadata,
    sa.Column("pad_id", sa.String(32), primary_key=True),
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("entries", sa.Text, nullable=False),  # JSON: [[at, "out" | "in", text]]
    sa.Column("truncated", sa.Boolean, nullable=False),
)

webhooks = sa.Table(
    "pad_webhooks",
    metadata,
    sa.Column("delivery_id", sa.String(36), primary_key=True),  # a UUID, the same on every attempt
    sa.Column("pad_id", sa.String(32), nullable=False, index=True),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("due_at", sa.Float, nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("lease_until", sa.Float, nullable=True),  # a node delivering it now; expired: anyone may claim it
    sa.Column("leased_by", sa.String(64), nullable=True),
    sa.Column("body", sa.LargeBinary, nullable=True),  # the report, frozen at the first attempt
    sa.Column("delivered_at", sa.Float, nullable=True),
    sa.Column("gave_up_at", sa.Float, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
)

# The owner's settings of a pad (language help on or off), as a log: the last row of a setting is its value, and
# every row is a history entry with its time and author.
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

"""The interview's timeline (marks, run transcripts) and the webhook outbox.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pad_marks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("pad_id", sa.String(32), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("author_name", sa.String(128), nullable=False),
        sa.Column("author_role", sa.String(16), nullable=False),
        sa.Column("size", sa.Integer, nullable=True),
        sa.Column("text", sa.Text, nullable=True),
    )
    op.create_index("ix_pad_marks_pad_id", "pad_marks", ["pad_id"])
    op.create_table(
        "pad_run_transcripts",
        sa.Column("pad_id", sa.String(32), primary_key=True),
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("entries", sa.Text, nullable=False),
        sa.Column("truncated", sa.Boolean, nullable=False),
    )
    op.create_table(
        "pad_webhooks",
        sa.Column("delivery_id", sa.String(36), primary_key=True),
        sa.Column("pad_id", sa.String(32), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("due_at", sa.Float, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("lease_until", sa.Float, nullable=True),
        sa.Column("leased_by", sa.String(64), nullable=True),
        sa.Column("body", sa.LargeBinary, nullable=True),
        sa.Column("delivered_at", sa.Float, nullable=True),
        sa.Column("gave_up_at", sa.Float, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_index("ix_pad_webhooks_pad_id", "pad_webhooks", ["pad_id"])
    op.create_index("ix_pad_webhooks_due_at", "pad_webhooks", ["due_at"])

"""The question bank, the question a pad is on, and pads' test runs.

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
        "questions",
        sa.Column("slug", sa.String(64), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("difficulty", sa.String(16), nullable=False),
        sa.Column("starters", sa.Text, nullable=False),
        sa.Column("search", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "question_tags",
        sa.Column("slug", sa.String(64), sa.ForeignKey("questions.slug", ondelete="CASCADE"), primary_key=True),
        sa.Column("tag", sa.String(32), primary_key=True),
    )
    op.create_index("question_tags_by_tag", "question_tags", ["tag"])
    op.create_table(
        "question_cases",
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
    op.create_table(
        "pad_questions",
        sa.Column("pad_id", sa.String(32), primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("attached_at", sa.Float, nullable=False),
    )
    op.create_table(
        "pad_test_runs",
        sa.Column("pad_id", sa.String(32), primary_key=True),
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.Column("author_name", sa.String(128), nullable=False),
        sa.Column("author_role", sa.String(16), nullable=False),
        sa.Column("language", sa.String(64), nullable=False),
        sa.Column("slug", sa.String(64), nullable=True),
        sa.Column("files", sa.Text, nullable=False),
        sa.Column("passed", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("summary", sa.String(200), nullable=False),
        sa.Column("results", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("pad_test_runs", "pad_questions", "question_cases", "question_tags", "questions"):
        op.drop_table(table)

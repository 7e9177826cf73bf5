"""Runs, findings that remember, and the actions of write runs.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("recipe", sa.String(200), nullable=False, index=True),
        sa.Column("account", sa.String(255), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("run_key", sa.String(16), nullable=False, index=True),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("schedule", sa.String(200), index=True),
        sa.Column("started_at", sa.String(32), nullable=False, index=True),
        sa.Column("finished_at", sa.String(32)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("api_calls", sa.Integer, nullable=False),
        sa.Column("findings", sa.Integer, nullable=False),
        sa.Column("new", sa.Integer, nullable=False),
        sa.Column("resolved", sa.Integer, nullable=False),
        sa.Column("actions", sa.Integer, nullable=False),
        sa.Column("result", sa.JSON),
        sa.Column("sink_errors", sa.JSON),
        sa.Column("host", sa.String(255)),
        sa.Column("pid", sa.Integer),
    )
    op.create_table(
        "findings",
        sa.Column("run_key", sa.String(16), primary_key=True),
        sa.Column("fingerprint", sa.String(16), primary_key=True),
        sa.Column("recipe", sa.String(200), nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("object", sa.JSON, nullable=False),
        sa.Column("first_seen", sa.String(32), nullable=False),
        sa.Column("last_seen", sa.String(32), nullable=False),
        sa.Column("resolved_at", sa.String(32)),
    )
    op.create_table(
        "actions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("key", sa.String(24), nullable=False, index=True),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("headers", sa.JSON),
        sa.Column("body", sa.JSON),
        sa.Column("changes", sa.Integer, nullable=False),
        sa.Column("once", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text),
        sa.UniqueConstraint("run_id", "seq"),
    )

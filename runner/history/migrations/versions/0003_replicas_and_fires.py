"""Replicas of pdrun serve and the fires they claim, so several daemons on one history act as one.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "replicas",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.String(32), nullable=False),
        sa.Column("heartbeat_at", sa.String(32), nullable=False),
        sa.Column("firing", sa.Boolean, nullable=False),
    )
    op.create_table(
        "fires",
        sa.Column("schedule", sa.String(200), primary_key=True),
        sa.Column("fire_time", sa.String(32), primary_key=True),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("replica", sa.String(32), nullable=False),
        sa.Column("claimed_at", sa.String(32), nullable=False),
    )
    with op.batch_alter_table("runs") as runs:
        runs.add_column(sa.Column("replica", sa.String(32)))

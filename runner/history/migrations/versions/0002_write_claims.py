"""Write claims: one row per write being made or made, so no two runs ever send the same write.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "claims",
        sa.Column("key", sa.String(24), primary_key=True),
        sa.Column("account", sa.String(255), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("once", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("claimed_at", sa.String(32), nullable=False),
        sa.Column("settled_at", sa.String(32)),
    )
    # Writes made before claims existed keep protecting themselves: a `once` write done (or left
    # being sent by a run that died) becomes its claim.
    op.execute(
        """
        INSERT INTO claims (key, account, run_id, once, status, claimed_at, settled_at)
        SELECT a.key, r.account, a.run_id, a.once,
               CASE WHEN a.status = 'done' THEN 'done' ELSE 'unknown' END, r.started_at, r.finished_at
        FROM actions a JOIN runs r ON r.id = a.run_id
        WHERE a.once AND a.status IN ('done', 'sending')
          AND a.id = (SELECT MIN(b.id) FROM actions b WHERE b.key = a.key AND b.status IN ('done', 'sending'))
        """
    )
    # The first histories kept an unused schema version here; Alembic keeps the version now.
    op.execute("DROP TABLE IF EXISTS pdrun_meta")

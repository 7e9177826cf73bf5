"""Finding events: each time a finding opened or was resolved, so what was open on any day can be told.

The findings table keeps one row per run key and fingerprint, and a finding
resolved then found again keeps its first `first_seen` and loses its
`resolved_at`. Events keep every change. A history made before them gets,
for each finding, the events its row still shows: opened at `first_seen`,
resolved at `resolved_at`.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "finding_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_key", sa.String(16), nullable=False),
        sa.Column("fingerprint", sa.String(16), nullable=False),
        sa.Column("account", sa.String(255), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("at", sa.String(32), nullable=False, index=True),
        sa.Column("run_id", sa.String(32)),
    )
    op.create_index("ix_finding_events_finding", "finding_events", ["run_key", "fingerprint"])
    account = "COALESCE((SELECT MAX(r.account) FROM runs r WHERE r.run_key = f.run_key), '')"
    op.execute(
        "INSERT INTO finding_events (run_key, fingerprint, account, state, at)"
        f" SELECT f.run_key, f.fingerprint, {account}, 'opened', f.first_seen FROM findings f"
    )
    op.execute(
        "INSERT INTO finding_events (run_key, fingerprint, account, state, at)"
        f" SELECT f.run_key, f.fingerprint, {account}, 'resolved', f.resolved_at FROM findings f"
        " WHERE f.resolved_at IS NOT NULL"
    )

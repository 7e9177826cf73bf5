"""Account names on runs, so the history shows and filters runs by the account they ran on.

Every run recorded before accounts had names ran on the default account.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("runs") as runs:
        runs.add_column(sa.Column("account_name", sa.String(63), nullable=False, server_default="default"))
        runs.create_index("ix_runs_account_name", ["account_name"])

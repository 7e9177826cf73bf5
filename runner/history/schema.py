"""The history's tables. Alembic migrations (in `migrations/`) build them; this is their shape for queries."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("recipe", sa.String(200), nullable=False, index=True),
    sa.Column("account", sa.String(255), nullable=False),  # its identity: runner.results.account_identity
    sa.Column("account_name", sa.String(63), nullable=False, index=True),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("run_key", sa.String(16), nullable=False, index=True),
    sa.Column("trigger", sa.String(20), nullable=False),
    sa.Column("schedule", sa.String(200), index=True),
    sa.Column("started_at", sa.String(32), nullable=False, index=True),
    sa.Column("finished_at", sa.String(32)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("api_calls", sa.Integer, nullable=False, default=0),
    sa.Column("findings", sa.Integer, nullable=False, default=0),
    sa.Column("new", sa.Integer, nullable=False, default=0),
    sa.Column("resolved", sa.Integer, nullable=False, default=0),
    sa.Column("actions", sa.Integer, nullable=False, default=0),
    sa.Column("result", sa.JSON),
    sa.Column("sink_errors", sa.JSON),
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
    sa.Column("replica", sa.String(32)),  # the pdrun serve replica that ran it, if one did
)

findings = sa.Table(
    "findings",
    metadata,
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

# Each time a finding of a run key opened (was found, or found again after it was resolved) or was resolved,
# written with the findings it changes: the findings row keeps only the latest state.
finding_events = sa.Table(
    "finding_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_key", sa.String(16), nullable=False),
    sa.Column("fingerprint", sa.String(16), nullable=False),
    sa.Column("account", sa.String(255), nullable=False),
    sa.Column("state", sa.String(10), nullable=False),  # opened | resolved
    sa.Column("at", sa.String(32), nullable=False, index=True),
    sa.Column("run_id", sa.String(32)),
    sa.Index("ix_finding_events_finding", "run_key", "fingerprint"),
)

actions = sa.Table(
    "actions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("key", sa.String(24), nullable=False, index=True),
    sa.Column("method", sa.String(10), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("headers", sa.JSON),
    sa.Column("body", sa.JSON),
    sa.Column("changes", sa.Integer, nullable=False, default=1),
    sa.Column("once", sa.Boolean, nullable=False, default=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("error", sa.Text),
    sa.UniqueConstraint("run_id", "seq"),
)

# One row per write being made or made: its key is unique, so two runs can never both hold it.
claims = sa.Table(
    "claims",
    metadata,
    sa.Column("key", sa.String(24), primary_key=True),
    sa.Column("account", sa.String(255), nullable=False),
    sa.Column("run_id", sa.String(32), nullable=False),
    sa.Column("once", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("claimed_at", sa.String(32), nullable=False),
    sa.Column("settled_at", sa.String(32)),
)

# Each `pdrun serve` on the history, beating every few seconds (by the database's clock); `firing` is the one
# whose schedules fire (every replica, on SQLite).
replicas = sa.Table(
    "replicas",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", sa.String(32), nullable=False),
    sa.Column("heartbeat_at", sa.String(32), nullable=False),
    sa.Column("firing", sa.Boolean, nullable=False),
)

# One row per scheduled fire: its (schedule, fire time) is unique, so no two replicas ever run the same fire.
fires = sa.Table(
    "fires",
    metadata,
    sa.Column("schedule", sa.String(200), primary_key=True),
    sa.Column("fire_time", sa.String(32), primary_key=True),
    sa.Column("run_id", sa.String(32), nullable=False),
    sa.Column("replica", sa.String(32), nullable=False),
    sa.Column("claimed_at", sa.String(32), nullable=False),
)

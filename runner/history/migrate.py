"""Bring a history's schema to this pdrun's version with Alembic, under a lock; refuse a newer one."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from runner.errors import ConfigError

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest revision in migrations/versions (a test holds it to Alembic's own view): a history already
# there opens without loading Alembic at all.
HEAD = "0005"
# pg_advisory_xact_lock key: one migration at a time across every process sharing a PostgreSQL history.
MIGRATION_LOCK = 7_420_111


def _alembic_config(connection: sa.Connection):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine, url: str) -> tuple[str | None, str]:
    """Upgrade the schema to this pdrun's head, in one locked transaction; return (from, to) revisions.

    A history made before migrations existed (its tables but no version) is
    taken as the first revision. A history at a revision this pdrun does not
    know was written by a newer pdrun: ConfigError.
    """
    if _recorded_revision(engine) == HEAD:
        return HEAD, HEAD
    from alembic import command
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    with engine.begin() as conn:  # on SQLite: BEGIN IMMEDIATE, so concurrent processes wait their turn
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config = _alembic_config(conn)
        script = ScriptDirectory.from_config(config)
        current = MigrationContext.configure(conn).get_current_revision()
        head = script.get_current_head()
        assert head is not None
        if current is not None:
            try:
                script.get_revision(current)
            except CommandError:
                raise ConfigError(
                    f"the run history at {url} has schema revision {current}, newer than this pdrun knows"
                    f" ({head}): upgrade pdrun, or point [runner] state at another history"
                ) from None
        elif sa.inspect(conn).has_table("runs"):
            command.stamp(config, "0001")
            current = "0001"
        if current != head:
            command.upgrade(config, "head")
    return current, head


def _recorded_revision(engine: sa.Engine) -> str | None:
    """The revision the history records, read plainly; None when it records none (or is new)."""
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.DBAPIError:
        return None

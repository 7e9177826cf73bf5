"""The history's database engine: drivers named when missing, connection timeouts, SQLite tuned for many writers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from runner import log as pdlog
from runner.errors import ConfigError, HistoryError

# Drivers pdrun knows how to name when missing: the SQLAlchemy dialect's module -> what installs it.
DRIVER_EXTRAS = {
    "psycopg": 'pip install "pdrun[postgres]"',
    "psycopg2": 'write the URL as postgresql+psycopg://... and pip install "pdrun[postgres]"',
}
CONNECT_TIMEOUT_S = 10
# libpq's connection settings for a PostgreSQL history, unless its URL sets them: give up connecting after
# CONNECT_TIMEOUT_S; drop a server that stopped answering (keepalives: about 11 s idle; data sent and never
# acknowledged: 15 s), so a host cut off from the database fails its queries instead of waiting for hours.
POSTGRES_CONNECTION = {
    "connect_timeout": CONNECT_TIMEOUT_S, "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
    "keepalives_count": 3, "tcp_user_timeout": 15_000,
}


def create_engine(url: str) -> sa.Engine:
    """Create the engine for `url`; a missing database driver is one line saying how to install it."""
    try:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        parsed = sa.engine.make_url(url)
        if parsed.password:
            pdlog.add_secret(str(parsed.password))
        engine = sa.create_engine(parsed, **_connect_args(parsed))
    except ModuleNotFoundError as exc:
        fix = DRIVER_EXTRAS.get((exc.name or "").split(".")[0], f"install the Python package {exc.name}")
        raise ConfigError(f"[runner] state {safe_url(url)}: its database driver is not installed: {fix}") from None
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"[runner] state {safe_url(url)}: not a database URL pdrun can use ({exc})") from None
    except (OSError, sa.exc.SQLAlchemyError) as exc:
        raise HistoryError(f"cannot open the run history at {safe_url(url)}: {reason(exc)}") from None
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    return engine


def _connect_args(url: sa.URL) -> dict[str, Any]:
    """POSTGRES_CONNECTION for a PostgreSQL history, but what its URL sets itself."""
    if url.get_backend_name() != "postgresql":
        return {}
    return {"connect_args": {k: v for k, v in POSTGRES_CONNECTION.items() if k not in url.query}}


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _tune_sqlite(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # pysqlite's own BEGIN would be DEFERRED; we issue ours
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def reason(exc: BaseException) -> str:
    """The first line of a database error, without SQLAlchemy's wrapping."""
    return str(getattr(exc, "orig", None) or exc).splitlines()[0]

"""The history's database: an engine for its URL, tuned for SQLite; clear words for what goes wrong."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from runner.errors import ConfigError, HistoryError

# Drivers pdrun can name when missing: the module the SQLAlchemy dialect imports -> what installs it.
DRIVER_EXTRAS = {
    "psycopg": 'pip install "pdrun[postgres]"',
    "psycopg2": 'write the URL as postgresql+psycopg://... and pip install "pdrun[postgres]"',
}


def default_url(environ: Mapping[str, str]) -> str:
    """Return the SQLite URL under $XDG_STATE_HOME/pdrun (default ~/.local/state/pdrun)."""
    state_home = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return f"sqlite:///{Path(state_home) / 'pdrun' / 'history.db'}"


def engine_for(url: str) -> sa.Engine:
    """Create the engine for `url`; a missing database driver is one line saying how to install it."""
    try:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url)
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


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reason(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).splitlines()[0]

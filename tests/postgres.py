"""A fresh PostgreSQL database per test, on the server these machines run at 127.0.0.1:5432.

Without a server the tests that need one are skipped, saying why; under
`CI=true` they fail instead, since CI's machines always run one.
$PDRUN_TEST_POSTGRES names another server (a SQLAlchemy URL of a database
the tests may create databases from).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

SERVER = os.environ.get("PDRUN_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _admin() -> sa.Engine:
    return sa.create_engine(SERVER, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a new, empty database, dropped after the test."""
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except (sa.exc.SQLAlchemyError, ModuleNotFoundError) as exc:
        admin.dispose()
        reason = f"no PostgreSQL server at {sa.make_url(SERVER).render_as_string()}: {str(exc).splitlines()[0]}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI runs these tests against the machine's server)")
        pytest.skip(reason)
    name = f"pdrun_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

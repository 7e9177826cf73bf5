"""Alembic migrations of the run history, the same for SQLite and PostgreSQL."""

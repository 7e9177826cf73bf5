"""Timestamps as pdrun writes them everywhere: ISO 8601, UTC, milliseconds, `Z`."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    """Format an aware datetime as pdrun's timestamp string."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    """Return the current time as pdrun's timestamp string."""
    return iso(datetime.now(UTC))


def parse_iso(text: str) -> datetime:
    """Read an ISO 8601 timestamp, as pdrun and PagerDuty write them (`...Z`), into an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))

"""Spans of time as recipes handle them: PagerDuty's timestamps, merged stretches, and periods cut to size."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

Span = tuple[datetime, datetime]


def stamp(moment: datetime) -> str:
    """Format a moment as PagerDuty writes one: ISO 8601 in UTC, to the second, `Z`."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def merged(spans: Iterable[Span]) -> list[Span]:
    """Join overlapping and adjacent spans, in order."""
    joined: list[Span] = []
    for start, end in sorted(spans):
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(end, joined[-1][1]))
        else:
            joined.append((start, end))
    return joined


def clipped(span: Span, since: datetime, until: datetime) -> Span | None:
    """The part of `span` within [since, until), if any."""
    start, end = max(span[0], since), min(span[1], until)
    return (start, end) if start < end else None


def windows(since: datetime, until: datetime, longest: timedelta) -> Iterator[Span]:
    """Cut [since, until) into consecutive windows no longer than `longest` (PagerDuty's cap on a range)."""
    while since < until:
        yield since, min(since + longest, until)
        since += longest


def hours(span: Span) -> float:
    return (span[1] - span[0]).total_seconds() / 3600

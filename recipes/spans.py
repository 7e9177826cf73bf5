"""Spans of time as recipes handle them: PagerDuty's timestamps, merged stretches, and periods cut to size."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from runner import Param, UsageError

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
    """Return the part of `span` within [since, until), if any."""
    start, end = max(span[0], since), min(span[1], until)
    return (start, end) if start < end else None


def windows(since: datetime, until: datetime, longest: timedelta) -> Iterator[Span]:
    """Cut [since, until) into consecutive windows no longer than `longest` (PagerDuty's cap on a range)."""
    while since < until:
        yield since, min(since + longest, until)
        since += longest


def hours(span: Span) -> float:
    return (span[1] - span[0]).total_seconds() / 3600


TIME_ZONE = Param(name="time_zone", default="UTC",
                  help="The time zone hours of the day are counted in (IANA, e.g. Europe/Paris).")


def zone_of(params: Mapping[str, Any]) -> ZoneInfo:
    """Return the time zone --time-zone names; raise UsageError if there is none of that name."""
    try:
        return ZoneInfo(params["time_zone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"--time-zone {params['time_zone']!r}: expected an IANA time zone, e.g. Europe/Paris") from None


def day_parts(span: Span, zone: tzinfo, workday: tuple[int, int]) -> dict[str, float]:
    """Count the hours of `span` in business hours (weekdays within `workday`), nights (weekdays outside), weekends."""
    parts = {"business_hours": 0.0, "nights": 0.0, "weekends": 0.0}
    day = span[0].astimezone(zone).date()
    while (midnight := _at(day, 0, zone)) < span[1]:
        night = _at(day + timedelta(days=1), 0, zone)
        if day.weekday() >= 5:
            pieces = [("weekends", midnight, night)]
        else:
            opens, closes = (_at(day, h, zone) if h < 24 else night for h in workday)
            pieces = [("nights", midnight, opens), ("business_hours", opens, closes), ("nights", closes, night)]
        for part, start, end in pieces:
            if (inside := clipped(span, start, end)) is not None:
                parts[part] += hours(inside)
        day += timedelta(days=1)
    return parts


def _at(day: date, hour: int, zone: tzinfo) -> datetime:
    """Return when the clocks of `zone` show `hour` o'clock on `day`, in UTC (so spans across a DST change add up)."""
    return datetime.combine(day, time(hour), zone).astimezone(UTC)

"""Render a schedule over a time window: who is on call in each layer, the overrides, and the result.

Layers follow PagerDuty's fields: turns of `rotation_turn_length_seconds`
counted from `rotation_virtual_start` go round `users` in order, only between
`start` and `end` (if any), and only inside the `restrictions` (daily or weekly
windows) when there are some. A later layer takes precedence over an earlier
one, overrides over every layer. Times are rendered in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from itertools import pairwise

from runner.sandbox.objects import Obj, parse_time, timestamp

DAY = timedelta(days=1)
WEEK = timedelta(days=7)

Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class Shift:
    """One stretch of time a user is on call for."""

    user: Obj  # a user reference
    start: datetime
    end: datetime

    def entry(self, since: datetime, until: datetime, *, overflow: bool) -> Obj:
        """Return the shift as a rendered schedule entry, cut at the window unless `overflow`."""
        start, end = (self.start, self.end) if overflow else (max(self.start, since), min(self.end, until))
        return {"user": self.user, "start": timestamp(start), "end": timestamp(end)}


def render(schedule: Obj, overrides: Iterable[Obj], since: datetime, until: datetime, *, overflow: bool = False) -> Obj:
    """Return the fields PagerDuty renders for `schedule` over `[since, until)`.

    That is `schedule_layers` (each with its entries and coverage),
    `overrides_subschedule` and `final_schedule`.
    """
    layers = schedule["schedule_layers"]
    # Look one turn beyond the window, so entries crossing its edges have their true ends.
    reach = max([DAY, *(timedelta(seconds=layer["rotation_turn_length_seconds"]) for layer in layers)])
    lo, hi = since - reach, until + reach
    layer_shifts = [list(_layer_shifts(layer, lo, hi)) for layer in layers]
    override_shifts = [
        Shift(o["user"], parse_time(o["start"]), parse_time(o["end"]))
        for o in overrides
        if o["start"] < timestamp(hi) and o["end"] > timestamp(lo)
    ]
    final = _flatten([shift for shifts in (*layer_shifts, override_shifts) for shift in shifts])

    def rendered(shifts: list[Shift]) -> Obj:
        return _rendered(shifts, since, until, overflow=overflow)

    return {
        "schedule_layers": [layer | rendered(shifts) for layer, shifts in zip(layers, layer_shifts, strict=True)],
        "overrides_subschedule": {"name": "Overrides", **rendered(override_shifts)},
        "final_schedule": {"name": "Final Schedule", **rendered(final)},
    }


def final_shifts(schedule: Obj, overrides: Iterable[Obj], since: datetime, until: datetime) -> list[Shift]:
    """Return the final schedule's shifts overlapping `[since, until)`, uncut."""
    rendered = render(schedule, overrides, since, until, overflow=True)["final_schedule"]
    return [
        Shift(entry["user"], parse_time(entry["start"]), parse_time(entry["end"]))
        for entry in rendered["rendered_schedule_entries"]
    ]


def _rendered(shifts: list[Shift], since: datetime, until: datetime, *, overflow: bool) -> Obj:
    visible = [shift for shift in shifts if shift.start < until and shift.end > since]
    covered = sum(((min(s.end, until) - max(s.start, since)) for s in visible), timedelta())
    return {
        "rendered_schedule_entries": [shift.entry(since, until, overflow=overflow) for shift in visible],
        "rendered_coverage_percentage": round(100 * covered / (until - since), 2),
    }


def _layer_shifts(layer: Obj, lo: datetime, hi: datetime) -> Iterator[Shift]:
    """Yield the layer's turns within `[lo, hi)`, cut to its start, end and restrictions."""
    users = [member["user"] for member in layer["users"]]
    start = max(lo, parse_time(layer["start"]))
    end = min(hi, parse_time(layer["end"])) if layer.get("end") else hi
    if not users or start >= end:
        return
    virtual_start = parse_time(layer["rotation_virtual_start"])
    turn = timedelta(seconds=layer["rotation_turn_length_seconds"])
    windows = [w for r in layer["restrictions"] for w in _restriction_windows(r, start, end)]
    number = (start - virtual_start) // turn
    while (turn_start := virtual_start + number * turn) < end:
        user = users[number % len(users)]
        piece = (max(turn_start, start), min(turn_start + turn, end))
        for a, b in _intersect(piece, windows) if layer["restrictions"] else [piece]:
            yield Shift(user, a, b)
        number += 1


def _restriction_windows(restriction: Obj, start: datetime, end: datetime) -> Iterator[Span]:
    """Yield the restriction's daily or weekly windows that may touch `[start, end)`."""
    at = time.fromisoformat(restriction["start_time_of_day"])
    duration = timedelta(seconds=restriction["duration_seconds"])
    if restriction["type"] == "weekly_restriction":
        period = WEEK
        monday = start.date() - timedelta(days=start.weekday())
        first = monday + timedelta(days=restriction["start_day_of_week"] - 1) - WEEK
    else:
        period = DAY
        first = start.date() - timedelta(days=1)
    opening = datetime.combine(first, at, tzinfo=timezone.utc)
    while opening < end:
        yield opening, opening + duration
        opening += period


def _intersect(piece: Span, windows: list[Span]) -> Iterator[Span]:
    for a, b in windows:
        lo, hi = max(piece[0], a), min(piece[1], b)
        if lo < hi:
            yield lo, hi


def _flatten(shifts: list[Shift]) -> list[Shift]:
    """Lay shifts over each other, each over those before it; join a user's adjacent stretches."""
    bounds = sorted({moment for shift in shifts for moment in (shift.start, shift.end)})
    final: list[Shift] = []
    for a, b in pairwise(bounds):
        on_top = next((s for s in reversed(shifts) if s.start <= a and b <= s.end), None)
        if on_top is None:
            continue
        if final and final[-1].end == a and final[-1].user["id"] == on_top.user["id"]:
            final[-1] = Shift(on_top.user, final[-1].start, b)
        else:
            final.append(Shift(on_top.user, a, b))
    return final

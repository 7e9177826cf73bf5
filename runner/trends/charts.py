"""The report's charts as SVG geometry: the template draws each mark (a path, a rect) with its title."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

# The plotting area inside each chart, and the room left around it for the axes' labels.
WIDE, NARROW, HEIGHT = 1100, 520, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28
SPARK_WIDTH, SPARK_HEIGHT = 120, 24
TEAM_BAR = 22


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Mark:
    """One mark of a chart: a rect (x, y, width, height) or a point, and what it says on hover."""

    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Series:
    name: str
    path: str
    points: tuple[Mark, ...]


@dataclass(frozen=True)
class Frame:
    """A chart's size, its axes' ticks, and how far its plotting area reaches."""

    width: int
    height: int
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    left: float = LEFT
    right: float = WIDE - RIGHT
    bottom: float = HEIGHT - BOTTOM


def nice_top(most: int) -> tuple[int, int]:
    """A round top for an axis holding `most`, and the step between its ticks."""
    if most <= 4:
        return max(most, 1), 1
    raw = most / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return int(step * math.ceil(most / step)), int(step)


def _y(value: float, top: int) -> float:
    return round(HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * value / top, 1)


def _y_ticks(top: int, step: int) -> tuple[Tick, ...]:
    return tuple(Tick(_y(v, top), str(v)) for v in range(0, top + 1, step))


def _date_ticks(days: Sequence[date], x_of: Callable[[int], float]) -> tuple[Tick, ...]:
    every = max(1, math.ceil(len(days) / 8))
    return tuple(Tick(x_of(n), f"{day:%b} {day.day}") for n, day in enumerate(days) if n % every == 0)


def line_chart(days: Sequence[date], series: dict[str, Sequence[int]], noun: str, width: int = WIDE
               ) -> tuple[Frame, list[Series]]:
    """One line per series over `days`, a point per day."""
    top, step = nice_top(max((max(v) for v in series.values()), default=0))
    span = (width - LEFT - RIGHT) / max(len(days) - 1, 1)

    def x_of(n: int) -> float:
        return round(LEFT + n * span, 1)

    drawn = []
    for name, values in series.items():
        points = tuple(Mark(x_of(n), _y(v, top), 0, 0, f"{day:%Y-%m-%d}: {v} {name} {noun}")
                       for n, (day, v) in enumerate(zip(days, values, strict=True)))
        path = "M" + " L".join(f"{p.x},{p.y}" for p in points)
        drawn.append(Series(name, path, points))
    return Frame(width, HEIGHT, _date_ticks(days, x_of), _y_ticks(top, step), right=width - RIGHT), drawn


def bar_pairs(labels: Sequence[str], pairs: Sequence[tuple[int, int]], names: tuple[str, str],
              width: int = NARROW) -> tuple[Frame, list[tuple[Mark, Mark]]]:
    """Two bars side by side for each label (new and resolved findings of a week)."""
    top, step = nice_top(max((max(p) for p in pairs), default=0))
    slot = (width - LEFT - RIGHT) / max(len(pairs), 1)
    size = min(slot * 0.36, 40)

    def bar(middle: float, k: int, value: int, label: str) -> Mark:
        y = _y(value, top)
        return Mark(round(middle + (k - 1) * size, 1), y, round(size, 1), round(HEIGHT - BOTTOM - y, 1),
                    f"{label}: {value} {names[k]}")

    middles = [LEFT + slot * (n + 0.5) for n in range(len(pairs))]
    marks = [(bar(m, 0, first, label), bar(m, 1, second, label))
             for m, label, (first, second) in zip(middles, labels, pairs, strict=True)]
    ticks = tuple(Tick(round(m, 1), label) for m, label in zip(middles, labels, strict=True))
    return Frame(width, HEIGHT, ticks, _y_ticks(top, step), right=width - RIGHT), marks


def team_bars(rows: Sequence[tuple[str, int]], width: int = NARROW) -> tuple[Frame, list[Mark]]:
    """A horizontal bar per team, longest first as given."""
    top, _ = nice_top(max((v for _, v in rows), default=0))
    left = 130
    room = width - left - 70
    marks = [Mark(left, TOP + n * TEAM_BAR, round(room * v / top, 1), TEAM_BAR - 6, f"{name}: {v} open")
             for n, (name, v) in enumerate(rows)]
    height = TOP + len(rows) * TEAM_BAR + 8
    return Frame(width, height, (), (), left=left, right=left + room, bottom=height), marks


def sparkline(values: Sequence[int]) -> str:
    """A sparkline's path: one point per value, scaled to the largest."""
    top = max(max(values, default=0), 1)
    span = SPARK_WIDTH / max(len(values) - 1, 1)
    return "M" + " L".join(f"{round(n * span, 1)},{round(SPARK_HEIGHT - 2 - (SPARK_HEIGHT - 4) * v / top, 1)}"
                           for n, v in enumerate(values))

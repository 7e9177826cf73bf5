"""Render a report as one self-contained HTML page (Jinja2): styles inline, charts as inline SVG, no script."""

from __future__ import annotations

import functools
from datetime import date, timedelta
from typing import Any

from runner.timestamps import parse_iso
from runner.trends import charts
from runner.trends.build import Report

NEW_SHOWN = 100  # rows of the "new in the last 7 days" table; the rest are counted


def render(report: Report) -> str:
    """Return the report's HTML page."""
    return _template().render(**_view(report))


@functools.cache
def _template() -> Any:
    """The page's template, loaded and compiled once (pdrun serve renders it on every /report)."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("runner.trends"), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    environment.filters.update(
        day=lambda d: f"{d:%Y-%m-%d}",
        when=lambda at: f"{parse_iso(at):%Y-%m-%d %H:%M} UTC" if at else "never",
        age=lambda at, now: _age(parse_iso(now) - parse_iso(at)),
        signed=lambda v: f"+{v}" if v > 0 else f"−{-v}" if v < 0 else "±0",
    )
    return environment.get_template("report.html.j2")


def _view(report: Report) -> dict[str, Any]:
    """What the template draws: the report, its charts' geometry, and the headline figures."""
    n = report.numbers
    line_frame, lines = charts.line_chart(n.days, n.open_by_day, "open")
    weeks = [_week_label(w.first_day, w.last_day) for w in n.weeks]
    week_frame, week_marks = charts.bar_pairs(weeks, [(w.new, w.resolved) for w in n.weeks], ("new", "resolved"))
    team_frame, team_marks = charts.team_bars([(row.name, row.open) for row in n.teams])
    team = report.scope.team
    return {
        "report": report, "n": n, "period": f"{n.first_day:%Y-%m-%d} to {n.last_day:%Y-%m-%d}",
        "accounts": ", ".join(report.accounts) or "no findings yet",
        "team": f"{report.team_name} ({team})" if report.team_name else team,
        "open_now": sum(row.open for row in n.recipes),
        "line_frame": line_frame, "lines": lines, "week_frame": week_frame, "week_marks": week_marks,
        "team_frame": team_frame, "team_rows": list(zip(n.teams, team_marks, strict=True)),
        "sparks": {row.name: charts.sparkline(row.daily) for row in n.recipes},
        "spark_width": charts.SPARK_WIDTH, "spark_height": charts.SPARK_HEIGHT, "shown": NEW_SHOWN,
    }


def _week_label(first: date, last: date) -> str:
    days = (last - first).days + 1
    span = f"{first:%b} {first.day}–{last.day}" if first.month == last.month else (
        f"{first:%b} {first.day}–{last:%b} {last.day}")
    return span if days == 7 else f"{span} ({days} d)"


def _age(delta: timedelta) -> str:
    if delta.days >= 1:
        return f"{delta.days} day{'s' * (delta.days != 1)}"
    hours = delta.seconds // 3600
    return f"{hours} hour{'s' * (hours != 1)}"

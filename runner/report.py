"""Render results for people (tables) and programs (JSON)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from runner.recipe import RunResult

FORMATS = ("table", "json")


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """Lay out rows as left-aligned columns under upper-case headers."""
    cells = [[str(h).upper() for h in headers], *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


def render(result: RunResult, fmt: str) -> str:
    """Return the result as text in format `fmt` (one of FORMATS)."""
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2)
    parts = []
    listed = (*result.findings, *result.resolved)
    if listed:
        rows = [
            (f.state or "", f.severity, f.object.type, f.object.id, f.object.summary, f.message, f.object.html_url)
            for f in listed
        ]
        headers = ("state", "severity", "type", "id", "name", "message", "url")
        if result.summary is None:
            rows, headers = [row[1:] for row in rows], headers[1:]
        parts.append(table(rows, headers))
    if result.actions:
        rows = [(a.status, a.method, a.path, a.error) for a in result.actions]
        parts.append(table(rows, ("status", "method", "path", "error")))
    parts.append(_summary(result))
    return "\n\n".join(parts)


def _summary(result: RunResult) -> str:
    counts = [f"{len(result.findings)} findings"] if not result.actions else []
    if result.summary and not result.actions:
        counts += [f"{n} {state}" for state, n in result.summary.items()]
    if result.actions:
        by_status: dict[str, int] = {}
        for action in result.actions:
            by_status[action.status] = by_status.get(action.status, 0) + 1
        counts += [f"{n} {status}" for status, n in by_status.items()]
    dry = " (dry run)" if result.dry_run else ""
    return (
        f"{result.recipe}: {result.status}{dry}: {', '.join(counts)}"
        f" - run {result.run_id}, {result.api_calls} API calls, {result.duration_ms} ms"
    )

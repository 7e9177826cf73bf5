"""Render results for people (tables, markdown), spreadsheets (CSV) and programs (JSON)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.errors import UsageError
from runner.results import DEFAULT_ACCOUNT, SEVERITIES, Action, Finding, RunResult, account_name
from runner.write_words import describe_action

if TYPE_CHECKING:
    from runner.audit import AuditResult

FORMATS = ("table", "json", "csv", "markdown")
CSV_COLUMNS = (
    "recipe", "rule", "severity", "object_type", "object_id", "object_name", "url", "team_ids", "message", "state",
    "account",
)
# A run with writes prints one row per write instead.
ACTION_CSV_COLUMNS = ("recipe", "status", "method", "path", "changes", "write", "error")


def write_whole(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file, so a reader never sees half of it.

    A path that is neither a file nor missing (/dev/stdout, a pipe) is written in place: renaming over it would
    replace it.
    """
    partial = path.with_name(f".{path.name}.partial")
    try:
        if is_special(path):
            path.write_text(text, encoding="utf-8")
        else:
            partial.write_text(text, encoding="utf-8")
            partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


def is_special(path: Path) -> bool:
    """Whether `path` is a device or a pipe (e.g. /dev/null, /dev/stdout), written in place rather than replaced."""
    return path.exists() and not path.is_file() and not path.is_dir()


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """Lay out rows as left-aligned columns under upper-case headers."""
    cells = [[str(h).upper() for h in headers], *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells)


def render(result: RunResult, fmt: str) -> str:
    """Return one run's result in format `fmt` (one of FORMATS)."""
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2, default=str)
    if result.columns:
        return _rows(result, fmt)
    if fmt == "csv":
        return _actions_csv(result) if result.actions else findings_csv([result])
    if fmt == "markdown":
        if result.actions and not result.findings:
            return f"# pdrun {result.recipe}\n\n{_run_line(result)}" + _actions_markdown(result.actions)
        text = _markdown(f"# pdrun {result.recipe}", [result], _run_line(result))
        return text + _actions_markdown(result.actions) if result.actions else text
    parts = []
    if result.findings or result.resolved:
        parts.append(_findings_table([*result.findings, *result.resolved], remembered=result.summary is not None))
    if result.actions:
        rows = [(a.status, describe_action(a), a.error) for a in result.actions]
        parts.append(table(rows, ("status", "write", "error")))
    parts.append(_run_line(result))
    return "\n\n".join(parts)


def _rows(result: RunResult, fmt: str) -> str:
    """A report's rows: a table, CSV with the declared columns, or a markdown table."""
    cells = [[_value(row.get(c)) for c in result.columns] for row in result.rows]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows([result.columns, *cells])
        return out.getvalue().rstrip("\n")
    line = _run_line(result)
    if fmt == "markdown":
        lines = [f"# pdrun {result.recipe}", "", line, "", "| " + " | ".join(result.columns) + " |",
                 "|" + "---|" * len(result.columns)]
        return "\n".join([*lines, *("| " + " | ".join(_cell(c) for c in row) + " |" for row in cells)])
    return "\n\n".join([table(cells, result.columns), line] if cells else ["No rows.", line])


def render_audit(audit: AuditResult, fmt: str, *, heading: str = "# pdrun audit") -> str:
    """Return an audit's results in format `fmt`: by severity, then recipe (`heading` tops the markdown)."""
    if fmt == "json":
        return json.dumps(audit.to_dict(), indent=2)
    if fmt == "csv":
        return findings_csv(audit.sections)
    line = _audit_line(audit)
    if fmt == "markdown":
        return _markdown(heading, audit.sections, line)
    remembered = all(s.summary is not None for s in audit.sections)
    parts = []
    for severity, findings in _by_severity(audit.sections):
        parts.append(f"{severity.upper()} ({len(findings)})\n" + _findings_table(findings, remembered, recipe=True))
    resolved = [f for s in audit.sections for f in s.resolved]
    if resolved:
        parts.append(f"RESOLVED SINCE THE LAST RUN ({len(resolved)})\n" + _findings_table(resolved, True, recipe=True))
    failed = [s for s in audit.sections if s.status == "failed"]
    parts += [f"FAILED {s.recipe}: {s.error}" for s in failed]
    parts.append(line)
    return "\n\n".join(parts)


def _by_severity(sections: Sequence[RunResult]) -> list[tuple[str, list[Finding]]]:
    findings = [f for s in sections for f in s.findings]
    grouped = []
    for severity in reversed(SEVERITIES):
        chosen = sorted((f for f in findings if f.severity == severity), key=lambda f: (f.recipe, f.object.summary))
        if chosen:
            grouped.append((severity, chosen))
    return grouped


def _findings_table(findings: Sequence[Finding], remembered: bool, *, recipe: bool = False) -> str:
    headers = ["state", "recipe", "severity", "type", "id", "name", "message", "url"]
    rows = [
        [f.state, f.recipe, f.severity, f.object.type, f.object.id, f.object.summary, f.message, f.object.html_url]
        for f in findings
    ]
    drop = {"state"} if not remembered else set()
    drop |= {"severity"} if recipe else {"recipe"}
    keep = [i for i, h in enumerate(headers) if h not in drop]
    return table([[row[i] for i in keep] for row in rows], [headers[i] for i in keep])


def findings_csv(sections: Sequence[RunResult]) -> str:
    """One CSV row per finding of the runs, with the stable columns CSV_COLUMNS."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for section in sections:
        account = section.account_name
        for f in section.findings:
            writer.writerow(
                (
                    f.recipe, f.rule, f.severity, f.object.type, f.object.id, f.object.summary,
                    f.object.html_url or "", ";".join(f.object.teams), f.message, f.state or "", account,
                )
            )
    return out.getvalue().rstrip("\n")


def _actions_csv(result: RunResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ACTION_CSV_COLUMNS)
    for a in result.actions:
        writer.writerow((result.recipe, a.status, a.method, a.path, a.changes, describe_action(a), a.error or ""))
    return out.getvalue().rstrip("\n")


def _actions_markdown(actions: Sequence[Action]) -> str:
    lines = ["", "", "| Status | Write | Error |", "|---|---|---|"]
    lines += [f"| {a.status} | {_cell(describe_action(a))} | {_cell(a.error or '')} |" for a in actions]
    return "\n".join(lines)


def _markdown(heading: str, sections: Sequence[RunResult], line: str) -> str:
    lines = [heading, "", line, ""]
    grouped = _by_severity(sections)
    if grouped:
        lines += ["| Severity | Recipe | Object | Message | State |", "|---|---|---|---|---|"]
        for severity, findings in grouped:
            for f in findings:
                name = _cell(f.object.summary or f.object.id)
                link = f"[{name}]({f.object.html_url})" if f.object.html_url else name
                lines.append(
                    f"| {severity} | `{f.recipe}` | {link} ({f.object.type} `{f.object.id}`) "
                    f"| {_cell(f.message)} | {f.state or ''} |"
                )
    else:
        lines.append("No findings.")
    for section in sections:
        if section.status == "failed":
            lines += ["", f"**{section.recipe} failed:** {_cell(section.error or '')}"]
    return "\n".join(lines)


def _value(value: Any) -> str:
    """Show a report's value as text: nothing for None, fractions to two decimals."""
    if value is None:
        return ""
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _run_line(result: RunResult) -> str:
    counts = [f"{len(result.rows)} rows"] if result.columns else [f"{len(result.findings)} findings"] if not result.actions else []
    if result.summary and not result.actions and not result.columns:
        counts += [f"{n} {state}" for state, n in result.summary.items()]
    by_status: dict[str, int] = {}
    for action in result.actions:
        by_status[action.status] = by_status.get(action.status, 0) + 1
    counts += [f"{n} {status}" for status, n in by_status.items()]
    dry = " (dry run)" if result.dry_run else ""
    return (
        f"{result.recipe}: {result.status}{dry}: {', '.join(counts)}"
        f" - run {result.run_id}{_on(result.account)}, {result.api_calls} API calls, {result.duration_ms} ms"
    )


def _on(account: str) -> str:
    """Which account a line is about, when it is not the default one."""
    name = account_name(account)
    return "" if name == DEFAULT_ACCOUNT else f" on account {name}"


def totals_words(totals: Mapping[str, Any]) -> tuple[str, str]:
    """An audit's findings by severity ("2 warning, 1 error", or "none") and what the history remembers of them
    ("; 1 new, 2 resolved", or "" without a history)."""
    severities = ", ".join(f"{n} {sev}" for sev, n in totals["by_severity"].items() if n) or "none"
    memory = f"; {totals['new']} new, {totals['resolved']} resolved" if totals["new"] is not None else ""
    return severities, memory


def _audit_line(audit: AuditResult) -> str:
    totals = audit.totals
    severities, memory = totals_words(totals)
    failed = f"; {len(totals['failed'])} failed" if totals["failed"] else ""
    failed += f"; {len(totals['not_run'])} not run" if totals["not_run"] else ""
    return (
        f"audit {audit.audit_id}{_on(audit.account)}: {totals['findings']} findings ({severities})"
        f" from {totals['recipes']} recipes{memory}{failed}; {totals['api_calls']} API requests"
    )

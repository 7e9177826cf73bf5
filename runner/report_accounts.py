"""Render an audit of several accounts: one section per account, as `render_audit` shows one, plus totals."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from runner.report import findings_csv, render_audit, totals_words
from runner.results import account_name, account_url

if TYPE_CHECKING:
    from runner.accounts_audit import AccountsAudit
    from runner.audit import AuditResult


def render_accounts_audit(audit: AccountsAudit, fmt: str) -> str:
    """Return the audits in format `fmt`: each account's section, then the totals across them."""
    if fmt == "json":
        return json.dumps(audit.to_dict(), indent=2)
    if fmt == "csv":
        return findings_csv(audit.sections)
    line = _totals_line(audit)
    if fmt == "markdown":
        sections = [render_audit(a, fmt, heading=f"## Account {_title(a)}") for a in audit.audits]
        return "\n\n".join([f"# pdrun audit of {len(audit.audits)} accounts", line, *sections])
    sections = [f"ACCOUNT {_title(a)}\n\n{render_audit(a, fmt)}" for a in audit.audits]
    return "\n\n".join([*sections, line])


def _title(audit: AuditResult) -> str:
    return f"{account_name(audit.account)} ({account_url(audit.account)})"


def _totals_line(audit: AccountsAudit) -> str:
    totals = audit.totals
    severities, memory = totals_words(totals)
    failed = [f"{name} ({len(recipes)} failed, {len(totals['not_run'].get(name, ()))} not run)"
              for name, recipes in totals["failed"].items()]
    return (
        f"audit {audit.audit_id} of {totals['accounts']} accounts: {totals['findings']} findings"
        f" ({severities}) from {totals['recipes']} recipes{memory}"
        + (f"; failed in {', '.join(failed)}" if failed else "")
        + f"; {totals['api_calls']} API requests"
    )

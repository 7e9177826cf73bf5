"""Exit codes: what a command's results mean to the shell that ran it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from runner.errors import EXIT_FAILED, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from runner.results import SEVERITIES

if TYPE_CHECKING:
    from runner.results import RunResult

# Which findings make exit code 1: any, only new ones, none, or those of at least a severity.
FAIL_ON = ("any", "new", "never", *SEVERITIES)


def exit_code(results: Iterable[RunResult], fail_on: str = "any") -> int:
    """3 if any run failed; 2 if one refused to write; else 1 if any finding counts under `fail_on`; else 0."""
    results = list(results)
    if any(r.status == "failed" for r in results):
        return EXIT_FAILED
    if any(r.status == "refused" for r in results):
        return EXIT_USAGE
    findings = [f for r in results for f in r.findings]
    if fail_on == "never":
        counted = []
    elif fail_on == "new":
        counted = [f for f in findings if f.state in ("new", None)]
    elif fail_on in SEVERITIES:
        counted = [f for f in findings if SEVERITIES.index(f.severity) >= SEVERITIES.index(fail_on)]
    else:
        counted = findings
    return EXIT_FINDINGS if counted else EXIT_OK

"""`pdrun report --html`: from the history (never PagerDuty), its demo on the sandbox, and bad input."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from runner.history import History, default_url


def refused(result, *phrases: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pdrun: error: ") and "Traceback" not in result.stderr, lines
    for phrase in phrases:
        assert phrase in lines[0]


def demo_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("pdrun-report-demo-*")}


def test_the_report_is_built_from_the_history_alone(invoke, workdir, state_home, pd_sandbox):
    assert invoke("audit", "--sandbox").exit_code == 1
    asked = len(pd_sandbox.exchanges)
    made = invoke("report", "--html", str(workdir / "report.html"))
    assert made.exit_code == 0, made.stderr
    assert len(pd_sandbox.exchanges) == asked  # not one request
    history = History(default_url({"XDG_STATE_HOME": str(state_home)}))
    open_now = sum(1 for row in history.list_runs(limit=100) for _ in range(row["findings"]))
    assert made.stdout.startswith(
        f"{workdir / 'report.html'}: {open_now} open findings, {open_now} new in the last 7 days, from {hygiene_audits()} runs"
    )
    page = (workdir / "report.html").read_text()
    assert page.startswith("<!doctype html>") and "No trend yet: the history covers one day" in page


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["--days", "0"], "--days 0: give a number of days from 1 to 3650"),
        (["--days", "x"], "'x' is not a valid integer"),
        (["--recipe", "services-without-team"], "--recipe services-without-team: no audit of that name is installed"
                                                " or in the history at sqlite:"),
        (["--team", "PNOSUCH"], "--team PNOSUCH: no finding in the history at sqlite:"),
        (["--recipe", "incident-note", "--sandbox"], "--recipe incident-note: no audit of that name is installed"),
        (["--days", "400", "--sandbox"], "--days 400: the demo replays each day, at most 365"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(invoke, workdir, args, phrase):
    invoke("audit", "--sandbox", "users-orphaned")
    refused(invoke("report", "--html", str(workdir / "report.html"), *args), phrase)
    assert not (workdir / "report.html").exists()


def test_a_suggestion_and_the_teams_the_history_knows(invoke, workdir):
    invoke("audit", "--sandbox")
    page = str(workdir / "report.html")
    refused(invoke("report", "--html", page, "--recipe", "services-without-team"),
            "(did you mean 'services-without-teams'")
    refused(invoke("report", "--html", page, "--team", "PNOSUCH"), "teams it knows: P", "(Platform)")


def test_an_empty_history_or_an_unwritable_file_is_one_line(invoke, workdir):
    refused(invoke("report", "--html", str(workdir / "report.html")), "holds no run of any audit in the last 90 days:"
                                                       " run `pdrun audit` first")
    refused(invoke("report", "--html", str(workdir / "missing" / "report.html")), "--html", "no such directory")
    (workdir / "folder").mkdir()
    refused(invoke("report", "--html", str(workdir / "folder")), "--html", "is a directory")


def test_the_demo_replays_days_of_change_and_leaves_only_the_page(invoke, workdir, state_home, pd_sandbox):
    before = demo_folders()
    made = invoke("report", "--html", str(workdir / "demo.html"), "--sandbox", "--days", "7")
    assert made.exit_code == 0, made.stderr
    runs = 7 * hygiene_audits()  # every audit, once a day
    assert re.fullmatch(rf".*demo\.html: \d+ open findings, \d+ new in the last 7 days, from {runs} runs since \S+\n",
                        made.stdout)
    assert demo_folders() == before and not state_home.exists()  # nor the user's history, nor its own
    assert {e.path for e in pd_sandbox.exchanges} >= {"/services", "/users", "/teams", "/incidents"}
    page = (workdir / "demo.html").read_text()
    assert "No trend yet" not in page and "a temporary history of 7 simulated days" in page
    resolved = [int(n) for n in re.findall(r"<title>[^<]*: (\d+) resolved</title>", page)]
    assert len(resolved) == 1 and resolved[0] > 0  # 7 days: one week, in which the account changed


def hygiene_audits() -> int:
    from runner.plugins import load_registry

    return sum(r.kind == "audit" and "hygiene" in r.tags for r in load_registry(entry_points=[]).recipes.values())

"""Bad input ends in one line on stderr and exit 2: never a traceback, never a request or a write."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest

from runner.sandbox.demo import DEMO_INCIDENT_ID


def refused(result, sandbox, *phrases: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pdrun: error: "), result.stderr
    assert "Traceback" not in result.stderr
    for phrase in phrases:
        assert phrase in lines[0]
    assert sandbox.exchanges == []


@pytest.mark.parametrize(
    ("setting", "phrase"),
    [
        ("[runner]\nkeep_runs_days = 9223372036854775807", "keep_runs_days: expected a number from 1 to 36500"),
        ("[pagerduty]\ntimeout = nan", "timeout: expected a number from 0.1 to 600, got nan"),
        ("[pagerduty]\nconcurrency = 0", "concurrency: expected a number from 1 to 64"),
        ('[runner]\nstate = "postgresql+psycopg2://pdrun@db.example.com/pdrun"', 'pip install "pdrun[postgres]"'),
        ('[runner]\nstate = "oracle+cx_oracle://u:hunter22@db/x"', "not installed"),
        ('[runner]\nstate = "not a url"', "not a database URL"),
    ],
)
def test_a_bad_setting(invoke, workdir, pd_sandbox, setting, phrase):
    (workdir / "config.toml").write_text(setting + "\n")
    result = invoke("services-without-teams", "--sandbox")
    refused(result, pd_sandbox, phrase)
    assert "hunter22" not in result.stderr


def test_a_schedule_every_too_long(invoke, workdir, pd_sandbox):
    (workdir / "config.toml").write_text('[[schedule]]\nrecipe = "services-without-teams"\nevery = "99999999999999d"\n')
    result = invoke("schedules")
    assert result.exit_code == 2 and "expected a duration from 1s to 366d" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (("services-inactive", "--days", "-5"), "--days: expected at least 1, got -5"),
        (("services-inactive", "--days", "99999999999999999999"), "--days: expected at most 3650"),
        (("service-standards", "--min-score", "nan"), "--min-score: expected a finite number"),
        (("incident-note", "--incident", "../services/X", "--message", "hi"), "expected a PagerDuty id"),
        (("incident-note", "--incident", f"{DEMO_INCIDENT_ID}/notes", "--message", "hi"), "expected a PagerDuty id"),
        (("incident-note", "--incident", DEMO_INCIDENT_ID, "--message", ""), "--message: must not be empty"),
        (("status-update", "--incident", DEMO_INCIDENT_ID, "--message", "  \t "), "--message: must not be empty"),
        (("incidents-reassign", "--status", "triggered", "--to-user", "bob"), "--to-user: expected a PagerDuty id"),
    ],
)
def test_a_bad_parameter(invoke, pd_sandbox, args, phrase):
    refused(invoke(*args, "--sandbox"), pd_sandbox, phrase)


def test_an_unusable_output_is_found_before_any_write(invoke, pd_sandbox, workdir):
    result = invoke("incident-note", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--message", "hi",
                    "-o", "/nonexistent/x.json")
    refused(result, pd_sandbox, "--output /nonexistent/x.json: no such directory")
    (workdir / "out").mkdir()
    refused(invoke("services-without-teams", "--sandbox", "-o", str(workdir / "out")), pd_sandbox, "is a directory")
    refused(invoke("audit", "--sandbox", "-o", "/nonexistent/x.json"), pd_sandbox, "no such directory")


def test_an_audit_for_a_team_id_that_cannot_be_one_is_refused(invoke, pd_sandbox):
    refused(invoke("audit", "--sandbox", "--team", "payments"), pd_sandbox, "--team: expected a PagerDuty id")


def test_an_output_that_is_a_pipe_is_written_in_place(invoke, workdir):
    pipe = workdir / "results"
    os.mkfifo(pipe)
    received = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_text()), daemon=True)
    reader.start()
    result = invoke("services-without-teams", "--sandbox", "--format", "json", "-o", str(pipe))
    reader.join(timeout=30)
    assert result.exit_code == 1, result.stderr
    assert stat.S_ISFIFO(pipe.stat().st_mode), "the pipe was replaced by a file"
    assert json.loads(received[0])["recipe"] == "services-without-teams"


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (("incident-note", "--incident", "PNOPE12", "--message", "hi"), "no incident PNOPE12 in this PagerDuty account"),
        (("user-offboard", "--user", "PNOPE12"), "no user PNOPE12 in this PagerDuty account"),
        (("user-offboard", "--user", "nobody@example.com"), "no PagerDuty user has the email address"),
    ],
)
def test_an_id_the_account_does_not_know_is_refused_with_nothing_written(invoke, pd_sandbox, args, phrase):
    result = invoke(*args, "--sandbox", "--yes")
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("pdrun: error: run refused: ") and phrase in last
    assert "Traceback" not in result.stderr
    assert [e for e in pd_sandbox.exchanges if e.method != "GET"] == []

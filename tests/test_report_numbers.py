"""The HTML report's numbers equal what the history holds, for a history each test builds day by day."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command

from runner.history import History, migrate
from runner.history.schema import finding_events
from runner.results import Finding, ObjectRef, RunResult, run_key
from runner.timestamps import iso
from runner.trends.build import Scope, build_report
from runner.trends.page import render

START = datetime(2026, 3, 2, 10, tzinfo=UTC)
DAYS = 10
NOW = START + timedelta(days=DAYS - 1, hours=2)
TEAMS = {"PT1": "Payments", "PT2": "Checkout"}
AUDITS = ("services-without-teams", "users-orphaned", "teams-without-members")

# (recipe, params) -> day -> what its run found that day: (object id, severity, owning team or None); a day
# missing is a day it did not run; None is a failed run.
SEEN: dict[tuple[str, tuple], dict[int, list | None]] = {
    ("services-without-teams", ()): {
        0: [("S1", "warning", None), ("S2", "error", "PT1")],
        1: [("S1", "warning", None), ("S2", "error", "PT1"), ("S3", "warning", "PT2")],
        2: [("S1", "warning", None), ("S3", "warning", "PT2")],
        4: [("S3", "warning", "PT2")],
        5: [("S3", "warning", "PT2"), ("S4", "critical", "PT1")],
        7: [("S4", "critical", "PT1")],
        8: [("S4", "critical", "PT1"), ("S5", "warning", "PT2")],
        9: [("S5", "warning", "PT2")],
    },
    # The same recipe with other parameters: it finds S1 too, for longer; S1 counts once.
    ("services-without-teams", (("limit", 5),)): {
        0: [("S1", "warning", None)],
        3: [("S1", "warning", None)],
        6: [],
    },
    # U1 is resolved on day 3 and found again on day 6; the failed run of day 4 changes nothing.
    ("users-orphaned", ()): {
        0: [("U1", "info", "PT1")],
        2: [("U1", "info", "PT1")],
        3: [],
        4: None,
        6: [("U1", "info", "PT1")],
        9: [("U1", "info", "PT1"), ("U2", "info", "PT2")],
    },
}


def found(recipe: str, seen: list) -> tuple[Finding, ...]:
    return tuple(
        Finding(recipe=recipe, rule=recipe, severity=severity, message="m",
                object=ObjectRef(type="service", id=obj, summary=f"object {obj}",
                                 html_url=f"https://acme.pagerduty.com/x/{obj}", teams=(team,) if team else (),
                                 team_names=(TEAMS[team],) if team else ()))
        for obj, severity, team in seen
    )


def record(history: History, recipe: str, params: dict, day: int, seen: list | None, *, account: str = "acct") -> None:
    at = iso(START + timedelta(days=day))
    run_id = f"{recipe}-{len(params)}-{day}-{account}"
    key = run_key(account, recipe, params)
    history.start(run_id=run_id, account=account, key=key, recipe=recipe, params=params, trigger="audit",
                  schedule=None, started_at=at)
    status = "failed" if seen is None else "findings" if seen else "ok"
    history.finish(RunResult(recipe=recipe, run_id=run_id, account=account, key=key, status=status, dry_run=False,
                             params=params, started_at=at, finished_at=at, findings=found(recipe, seen or [])))


def fill(history: History) -> None:
    for day in range(DAYS):
        for (recipe, params), days in SEEN.items():
            if day in days:
                record(history, recipe, dict(params), day, days[day])


def open_on(day: int) -> dict[tuple[str, str], tuple[str, str | None]]:
    """What the script says was open at the end of `day`: (recipe, object) -> (severity, team), across run keys."""
    opened: dict[tuple[str, str], tuple[str, str | None]] = {}
    for (recipe, _), days in SEEN.items():
        complete = [d for d in sorted(days) if d <= day and days[d] is not None]
        for obj, severity, team in days[complete[-1]] if complete else []:
            opened[(recipe, obj)] = (severity, team)
    return opened


@pytest.fixture
def history(history_url):
    made = History(history_url)
    fill(made)
    yield made
    made.close()


def test_open_findings_per_day_by_severity_equal_the_history(history):
    numbers = build_report(history, Scope(days=30), audits=AUDITS, now=NOW).numbers
    assert numbers.days == tuple(START.date() + timedelta(days=d) for d in range(DAYS))
    expected = {severity: tuple(sum(s == severity for s, _ in open_on(d).values()) for d in range(DAYS))
                for severity in ("info", "warning", "error", "critical")}
    assert numbers.open_by_day == {s: counts for s, counts in expected.items() if any(counts)}
    assert numbers.open_by_day["info"] == (1, 1, 1, 0, 0, 0, 1, 1, 1, 2)  # U1 gone on days 3 to 5
    assert numbers.open_by_day["warning"][3] == 2  # S1 still open for the other run key, S3


def test_new_and_resolved_per_week_count_a_finding_that_came_back_twice(history):
    numbers = build_report(history, Scope(days=30), audits=AUDITS, now=NOW).numbers
    new = [len(open_on(d).keys() - (open_on(d - 1).keys() if d else set())) for d in range(DAYS)]
    gone = [len(open_on(d - 1).keys() - open_on(d).keys()) if d else 0 for d in range(DAYS)]
    assert [(w.first_day, w.last_day) for w in numbers.weeks] == [
        (date(2026, 3, 2), date(2026, 3, 4)), (date(2026, 3, 5), date(2026, 3, 11))]
    assert [(w.new, w.resolved) for w in numbers.weeks] == [(sum(new[:3]), sum(gone[:3])), (sum(new[3:]), sum(gone[3:]))]
    assert ("users-orphaned", "U1") in {(t.recipe, t.object.id) for t, _ in numbers.new_this_week}
    assert numbers.resolved_this_week == sum(gone[3:])


def test_open_findings_by_team_are_named_and_compared_with_the_start(history):
    numbers = build_report(history, Scope(days=30), audits=AUDITS, now=NOW).numbers

    def by_team(day: int) -> dict[str | None, int]:
        teams: dict[str | None, int] = {}
        for _, team in open_on(day).values():
            teams[team] = teams.get(team, 0) + 1
        return teams

    first, last = by_team(0), by_team(DAYS - 1)
    expected = {(TEAMS[t] if t else "no team", last.get(t, 0), last.get(t, 0) - first.get(t, 0))
                for t in first.keys() | last.keys()}
    assert {(row.name, row.open, row.change) for row in numbers.teams} == expected
    assert [row.open for row in numbers.teams] == sorted((row.open for row in numbers.teams), reverse=True)


def test_per_recipe_open_trend_and_oldest_finding(history):
    report = build_report(history, Scope(days=30), audits=AUDITS, now=NOW)
    rows = {row.name: row for row in report.numbers.recipes}
    assert set(rows) == set(AUDITS) and report.numbers.runs == sum(len(days) for days in SEEN.values())
    assert report.numbers.failed_runs == 1
    for name, row in rows.items():
        assert row.daily == tuple(sum(r == name for r, _ in open_on(d)) for d in range(DAYS))
        assert row.open == row.daily[-1]
    # S5 opened on day 8; U1 came back on day 6, so its age runs from then, not from day 0.
    assert (rows["services-without-teams"].oldest.object.id, rows["services-without-teams"].oldest_since) == (
        "S5", iso(START + timedelta(days=8)))
    assert rows["users-orphaned"].oldest_since == iso(START + timedelta(days=6))
    assert rows["teams-without-members"].open == 0 and rows["teams-without-members"].last_run is None


def test_the_page_draws_the_numbers(history):
    report = build_report(history, Scope(days=30), audits=AUDITS, now=NOW)
    page = render(report)
    for severity, counts in report.numbers.open_by_day.items():
        for day, count in zip(report.numbers.days, counts, strict=True):
            assert f"<title>{day:%Y-%m-%d}: {count} {severity} open</title>" in page
    assert len(re.findall(r'<rect class="team"', page)) == len(report.numbers.teams)
    assert 'href="https://acme.pagerduty.com/x/S5"' in page and "object S5" in page
    assert "2026-02-10 00:00 UTC to 2026-03-11 12:00 UTC (30 days)" in page
    assert "No trend yet" not in page and "<script" not in page and "http://" not in page


def test_a_team_and_recipes_narrow_the_report(history):
    report = build_report(history, Scope(days=30, team="PT1", recipes=("users-orphaned",)), audits=AUDITS, now=NOW)
    assert report.recipes == ("users-orphaned",) and report.team_name == "Payments"
    assert report.numbers.open_by_day == {"info": (1, 1, 1, 0, 0, 0, 1, 1, 1, 1)}
    assert "objects owned by team Payments (PT1), the recipes users-orphaned" in render(report)


def test_a_history_of_one_run_says_there_is_no_trend_yet(tmp_path):
    history = History(f"sqlite:///{tmp_path / 'one.db'}")
    record(history, "services-without-teams", {}, 0, [("S1", "warning", None)])
    report = build_report(history, Scope(days=90), audits=AUDITS, now=START + timedelta(hours=1))
    assert not report.numbers.trend and report.numbers.open_by_day == {"warning": (1,)}
    page = render(report)
    assert "No trend yet: the history covers one day (2026-03-02)" in page
    assert 'id="open-title"' not in page and "<rect" not in page.split('id="teams"')[0]


def test_runs_of_two_accounts_count_their_findings_apart(tmp_path):
    history = History(f"sqlite:///{tmp_path / 'two.db'}")
    for account in ("acme", "globex"):
        record(history, "users-orphaned", {}, 0, [("U1", "info", None)], account=account)
    report = build_report(history, Scope(days=7), audits=AUDITS, now=START)
    assert report.accounts == ("acme", "globex") and report.numbers.open_by_day == {"info": (2,)}


def test_a_history_from_before_events_gets_them_from_its_findings(history_url):
    engine = sa.create_engine(history_url)
    with engine.begin() as conn:  # a history a pdrun from before 0004 wrote: one finding, opened and resolved
        command.upgrade(migrate._alembic_config(conn), "0003")
        conn.execute(sa.text(
            "INSERT INTO findings (run_key, fingerprint, recipe, rule, severity, message, object, first_seen,"
            " last_seen, resolved_at) VALUES ('k', 'f1', 'r', 'r', 'info', 'm', '{\"type\": \"user\", \"id\": \"U1\"}',"
            " '2026-03-01T00:00:00.000Z', '2026-03-02T00:00:00.000Z', '2026-03-03T00:00:00.000Z')"))
    engine.dispose()
    upgraded = History(history_url)
    with upgraded.engine.connect() as conn:
        rows = conn.execute(sa.select(finding_events.c.state, finding_events.c.at, finding_events.c.account)
                            .order_by(finding_events.c.at)).all()
    assert [tuple(r) for r in rows] == [("opened", "2026-03-01T00:00:00.000Z", ""),
                                        ("resolved", "2026-03-03T00:00:00.000Z", "")]


def test_a_finding_from_before_events_is_resolved_by_a_later_run(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    [u1] = found("users-orphaned", [("U1", "info", None)])
    with engine.begin() as conn:  # its runs pruned long ago: the finding's events get no account
        command.upgrade(migrate._alembic_config(conn), "0003")
        conn.execute(sa.text(
            "INSERT INTO findings (run_key, fingerprint, recipe, rule, severity, message, object, first_seen,"
            " last_seen) VALUES (:key, :fp, 'users-orphaned', 'users-orphaned', 'info', 'm', :object, :at, :at)"),
            {"key": run_key("acct", "users-orphaned", {}), "fp": u1.fingerprint, "at": iso(START - timedelta(days=1)),
             "object": '{"type": "service", "id": "U1"}'})
    engine.dispose()
    history = History(url)
    record(history, "users-orphaned", {}, 0, [("U1", "info", None)])
    record(history, "users-orphaned", {}, 1, [])
    numbers = build_report(history, Scope(days=7), audits=AUDITS, now=START + timedelta(days=1)).numbers
    assert numbers.open_by_day == {"info": (1, 1, 0)}  # from the day before the first run, as the history knew it

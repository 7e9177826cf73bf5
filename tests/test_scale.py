"""Reading at any account size: the rate budget, parallel pages in order, past the 10,000 cap, light start-up."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sessions import sandbox_session

from runner import pagination
from runner.config import PagerDutyConfig
from runner.errors import ApiError
from runner.rate_limit import RateLimiter
from runner.sandbox import Faults, SandboxApp
from runner.sandbox import api as sandbox_api
from runner.sandbox.large import large_account
from runner.timestamps import iso, parse_iso


class SimulatedTime:
    """A clock for threads: sleeping moves time forward to when the sleeper wakes."""

    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@settings(max_examples=60, deadline=None)
@given(
    per_minute=st.integers(min_value=1, max_value=2000),
    gaps=st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=300),
)
def test_no_60_seconds_see_more_requests_than_the_budget(per_minute, gaps):
    time = SimulatedTime()
    budget = RateLimiter(per_minute, clock=time, sleep=time.sleep)
    sent = []
    for gap in gaps:
        time.sleep(gap)
        budget.acquire()
        sent.append(time.now)
    for i, start in enumerate(sent):
        assert sum(1 for t in sent[i:] if t < start + 60) <= per_minute


def session_on(app, **settings):
    config = PagerDutyConfig(**settings)
    return sandbox_session(app, config)


def test_parallel_pages_arrive_complete_and_in_order(pd_account, pd_sandbox):
    policy = next(iter(pd_account.escalation_policies.values()))
    for n in range(1234):
        pd_account.add_service(f"svc {n:04}", escalation_policy=policy)
    parallel = session_on(pd_sandbox, concurrency=8, rate_limit=0)
    one_by_one = session_on(pd_sandbox, concurrency=1, rate_limit=0)
    ids = [s["id"] for s in parallel.iter("services")]
    assert ids == [s["id"] for s in one_by_one.iter("services")]
    expected = sorted(pd_account.services.values(), key=lambda s: s["name"].casefold())
    assert ids == [s["id"] for s in expected]
    first = pd_sandbox.exchanges[0]
    assert first.query["total"] == ["true"] and first.query["offset"] == ["0"]


def test_concurrent_pages_stay_within_the_budget(pd_account, pd_sandbox):
    """The sandbox answers 429 past 10 requests a minute; a budget of 9 a minute never meets one."""
    time = SimulatedTime()
    pd_sandbox.faults = Faults(rate_limit=10, clock=time)
    policy = next(iter(pd_account.escalation_policies.values()))
    for n in range(2000):
        pd_account.add_service(f"svc {n:04}", escalation_policy=policy)
    config = PagerDutyConfig(concurrency=4, rate_limit=9)
    session = sandbox_session(pd_sandbox, config, sleep=time.sleep, clock=time)
    assert len(list(session.iter("services"))) == len(pd_account.services)
    statuses = [e.status for e in pd_sandbox.exchanges]
    assert len(statuses) == 21 and set(statuses) == {200}


def test_services_past_the_cap_are_read_from_both_ends_each_once(pd_account, pd_sandbox):
    policy = next(iter(pd_account.escalation_policies.values()))
    for n in range(10_001):
        pd_account.add_service(f"svc {n:05}", escalation_policy=policy)
    total = len(pd_account.services)
    seen = [s["id"] for s in session_on(pd_sandbox, concurrency=8, rate_limit=0).iter("services")]
    expected = sorted(pd_account.services.values(), key=lambda s: s["name"].casefold())
    assert seen == [s["id"] for s in expected]  # each once, in name order
    assert len(pd_sandbox.exchanges) == math.ceil(total / 100)
    descending = [e.query for e in pd_sandbox.exchanges if e.query["sort_by"] == ["name:desc"]]
    assert [(q["offset"], q["limit"]) for q in descending] == [(["0"], [str(total - 10_000)])]


def test_a_listing_past_the_cap_with_no_exact_split_fails_before_yielding(pd_account, pd_sandbox):
    for n in range(10_001):
        pd_account.add_team(f"team {n:05}")
    listing = session_on(pd_sandbox).iter("teams")
    with pytest.raises(ApiError, match=r"GET teams: 10007 results, past PagerDuty's 10000-record pagination cap"):
        next(listing)
    assert len(pd_sandbox.exchanges) == 1


@pytest.fixture
def cap_of_1000(monkeypatch):
    """PagerDuty's pagination cap, and pdrun's knowledge of it, lowered to 1,000 so tests stay small."""
    monkeypatch.setattr(pagination, "CLASSIC_PAGINATION_CAP", 1000)
    monkeypatch.setattr(sandbox_api, "MAX_OFFSET_PLUS_LIMIT", 1000)


def test_past_twice_the_cap_services_fail_before_yielding(pd_account, pd_sandbox, cap_of_1000):
    policy = next(iter(pd_account.escalation_policies.values()))
    for n in range(2000 - len(pd_account.services) + 1):
        pd_account.add_service(f"svc {n:05}", escalation_policy=policy)
    with pytest.raises(ApiError, match=r"2001 results, past PagerDuty's 1000-record pagination cap \(twice the cap"):
        next(session_on(pd_sandbox).iter("services"))
    assert len(pd_sandbox.exchanges) == 1


def test_names_sorted_as_equal_across_the_two_ends_fail_loudly(pd_account, pd_sandbox, cap_of_1000):
    """`svc 00999` and `SVC 00999` sort as equal, so both ends list the same one of them and miss the other."""
    policy = next(iter(pd_account.escalation_policies.values()))
    below = sum(s["name"].casefold() < "svc" for s in pd_account.services.values())
    for n in range(1500 - len(pd_account.services) - 1):
        pd_account.add_service(f"svc {n:05}", escalation_policy=policy)
    pd_account.add_service(f"SVC {999 - below:05}", escalation_policy=policy)
    with pytest.raises(ApiError, match="sort as equal"):
        list(session_on(pd_sandbox, concurrency=4, rate_limit=0).iter("services"))


@pytest.fixture(scope="module")
def large():
    return large_account(seed=0)


def test_50000_incidents_are_each_seen_once(large):
    app = SandboxApp(large)
    session = session_on(app, concurrency=8, rate_limit=0)
    seen = [i["id"] for i in session.iter("incidents", date_range="all")]
    assert len(large.incidents) == 50_000
    assert len(seen) == len(set(seen)) == 50_000
    windows = {(e.query["since"][0], e.query["until"][0]) for e in app.exchanges if "since" in e.query}
    assert len(windows) > 5  # the range was split to stay under the cap
    longest = max(parse_iso(until) - parse_iso(since) for since, until in windows)
    assert longest <= timedelta(days=180)  # the longest range PagerDuty accepts


def test_open_incidents_opened_before_a_moment_are_read_and_no_others(large):
    app = SandboxApp(large)
    cutoff = large.now - timedelta(hours=24)
    listing = session_on(app, concurrency=8, rate_limit=0).iter(
        "incidents", statuses=["triggered", "acknowledged"], date_range="all", until=iso(cutoff))
    seen = [i["id"] for i in listing]
    stale = [i["id"] for i in large.ordered("incidents", key=lambda i: (i["created_at"], i["incident_number"]))
             if i["status"] != "resolved" and parse_iso(i["created_at"]) < cutoff]
    assert len(stale) > 1000 and seen == stale  # oldest first, each once
    assert len(app.exchanges) <= math.ceil(len(stale) / 100) + 1  # one more at most, where a page ends
    assert all(parse_iso(e.query["until"][0]) <= cutoff for e in app.exchanges if "until" in e.query)


def test_pdrun_list_imports_no_heavy_library():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from runner.cli import cli\n"
        "for args in (['list'], ['describe', 'incident-note'], ['--help']):\n"
        "    assert CliRunner().invoke(cli, args).exit_code == 0, args\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pagerduty', 'apscheduler', 'sqlalchemy', 'httpx2', 'prometheus_client'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_pause_holds_callers_who_already_hold_a_slot():
    time = SimulatedTime()
    budget = RateLimiter(10, clock=time, sleep=time.sleep)
    for _ in range(10):
        budget.acquire()
    budget.pause(30)
    waited = budget.acquire()
    assert time.now >= 30 and waited >= 30

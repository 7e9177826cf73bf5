"""Reading at any account size: the rate budget, parallel pages in order, past the 10,000 cap, light start-up."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sessions import sandbox_session

from runner.config import PagerDutyConfig
from runner.errors import ApiError
from runner.rate_limit import RateLimiter
from runner.sandbox import Faults, SandboxApp
from runner.sandbox.large import large_account
from runner.timestamps import parse_iso


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


def test_a_listing_past_the_cap_without_a_time_range_fails_before_yielding(pd_account, pd_sandbox):
    policy = next(iter(pd_account.escalation_policies.values()))
    for n in range(10_001):
        pd_account.add_service(f"svc {n:05}", escalation_policy=policy)
    session = session_on(pd_sandbox)
    listing = session.iter("services")
    with pytest.raises(ApiError, match=r"GET services: 10026 results, past PagerDuty's 10000-record pagination cap"):
        next(listing)
    assert len(pd_sandbox.exchanges) == 1


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

"""Faults the sandbox injects on demand: latency, rate limits, server errors; deterministic for a seed."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import httpx2
import pytest
from sessions import sandbox_session

from runner.config import PagerDutyConfig
from runner.sandbox import (
    SANDBOX_BASE_URL,
    SANDBOX_TOKEN,
    Faults,
    SandboxApp,
    demo_account,
)
from runner.sandbox.demo import DEMO_FROM_EMAIL, DEMO_INCIDENT_ID, DEMO_USER_TOKEN
from runner.sandbox.locks import ReadWriteLock

NOW = datetime(2024, 5, 6, 12, tzinfo=timezone.utc)


class FakeClock:
    """A monotonic clock that only moves when told to (or when slept on)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def app() -> SandboxApp:
    return SandboxApp(demo_account(now=NOW))


def connect(app: SandboxApp, token: str = SANDBOX_TOKEN) -> httpx2.Client:
    headers = {"Authorization": f"Token token={token}", "From": DEMO_FROM_EMAIL}
    return httpx2.Client(transport=httpx2.WSGITransport(app=app), base_url=SANDBOX_BASE_URL, headers=headers)


def statuses(app: SandboxApp, count: int, path: str = "/abilities") -> list[int]:
    with connect(app) as client:
        return [client.get(path).status_code for _ in range(count)]


def test_the_rate_limit_is_a_budget_per_token_per_minute(app):
    clock = FakeClock()
    app.faults = Faults(rate_limit=60, clock=clock)
    with connect(app) as client:
        first = client.get("/abilities")
        served = [client.get("/abilities").status_code for _ in range(59)]
        limited = client.get("/abilities")
        with connect(app, DEMO_USER_TOKEN) as other:
            assert other.get("/abilities").status_code == 200
        clock.advance(45)
        still = client.get("/abilities")
        clock.advance(15)
        renewed = client.get("/abilities")
    assert first.headers["ratelimit-remaining"] == "59" and served == [200] * 59
    assert limited.status_code == 429 and limited.json() == {"error": {"message": "Rate Limit Exceeded", "code": 2020}}
    assert {k: limited.headers[k] for k in ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")} == {
        "ratelimit-limit": "60",
        "ratelimit-remaining": "0",
        "ratelimit-reset": "60",
    }
    assert (still.status_code, still.headers["ratelimit-reset"]) == (429, "15")
    assert (renewed.status_code, renewed.headers["ratelimit-remaining"]) == (200, "59")
    assert Counter(e.fault for e in app.exchanges) == {None: 62, "rate_limit": 2}


def test_the_rate_limit_window_is_fixed_from_a_tokens_first_request(app):
    """Not sliding: the budget renews whole 60 s after the window's first request, however late the rest came."""
    clock = FakeClock()
    app.faults = Faults(rate_limit=3, clock=clock)
    with connect(app) as client:
        first = client.get("/abilities")
        clock.advance(50)
        late = [client.get("/abilities").status_code for _ in range(3)]
        clock.advance(10)
        renewed = [client.get("/abilities") for _ in range(3)]
    assert first.headers["ratelimit-reset"] == "60" and late == [200, 200, 429]
    assert [r.status_code for r in renewed] == [200] * 3
    assert renewed[0].headers["ratelimit-remaining"] == "2" and renewed[0].headers["ratelimit-reset"] == "60"


def test_a_write_waits_for_the_reads_under_way():
    lock = ReadWriteLock()
    events: list[str] = []
    reading = threading.Event()
    release = threading.Event()

    def reader() -> None:
        with lock.reading():
            reading.set()
            release.wait(timeout=10)
            events.append("read done")

    def writer() -> None:
        reading.wait(timeout=10)
        with lock.writing():
            events.append("write")

    threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    reading.wait(timeout=10)
    release.set()
    for thread in threads:
        thread.join(timeout=10)
    assert events == ["read done", "write"]


def test_pdrun_waits_out_the_rate_limit(app):
    """pdrun reads ratelimit-remaining: when the window is spent it waits for the reset, so no 429 comes."""
    clock = FakeClock()
    app.faults = Faults(rate_limit=2, clock=clock)
    session = sandbox_session(app, PagerDutyConfig(), sleep=clock.advance, clock=lambda: clock.now)
    try:
        names = [session.get(f"incidents/{DEMO_INCIDENT_ID}")["id"] for _ in range(5)]
    finally:
        session.close()
    assert names == [DEMO_INCIDENT_ID] * 5
    assert [e.status for e in app.exchanges] == [200] * 5
    assert clock.now == 120


def test_pdrun_retries_a_429_after_the_reset_it_announces(app):
    clock = FakeClock()
    app.faults = Faults(rate_limit=2, clock=clock)
    config = PagerDutyConfig(rate_limit=0)  # no budget of its own: only the 429s pace it
    session = sandbox_session(app, config, sleep=clock.advance, clock=lambda: clock.now)
    try:
        names = [session.get(f"incidents/{DEMO_INCIDENT_ID}")["id"] for _ in range(5)]
    finally:
        session.close()
    assert names == [DEMO_INCIDENT_ID] * 5
    assert [e.status for e in app.exchanges] == [200, 200, 429, 200, 200, 429, 200]
    assert clock.now == 120


def test_about_the_fail_rate_fails_the_same_way_for_a_seed(app):
    def run(seed: int) -> list[int]:
        app.faults = Faults(fail_rate=0.2, seed=seed)
        return statuses(app, 1000)

    first, again, other = run(7), run(7), run(8)
    assert first == again and first != other
    failed = [status for status in first if status != 200]
    assert 150 < len(failed) < 250 and set(failed) == {500, 502, 503}
    assert {e.fault for e in app.exchanges if e.status >= 500} == {"error"}


def test_a_failed_request_changes_nothing(app):
    app.faults = Faults(fail_rate=1)
    with connect(app) as client:
        response = client.post(f"/incidents/{DEMO_INCIDENT_ID}/notes", json={"note": {"content": "lost"}})
    assert response.status_code in (500, 502, 503) and response.json()["error"]["code"] == 2000
    assert app.account.notes[DEMO_INCIDENT_ID] == []


def test_faults_change_between_requests(app):
    app.faults.fail_rate = 1
    failing = statuses(app, 3)
    app.faults.fail_rate = 0
    assert all(status >= 500 for status in failing) and statuses(app, 3) == [200] * 3


def test_latency_is_served_outside_the_lock(app):
    # Four requests can only all reach the barrier if their latencies overlap.
    barrier = threading.Barrier(4, timeout=10)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        barrier.wait()

    app.faults = Faults(latency_ms=50, sleep=sleep)
    with connect(app) as client, ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(lambda _: client.get("/teams").status_code, range(4)))
    assert codes == [200] * 4 and waits == [0.05] * 4


def test_drops_are_not_simulated_in_process(app):
    app.faults = Faults(drop_rate=1)
    assert statuses(app, 2) == [200, 200]
    assert [e.fault for e in app.exchanges] == [None, None]


@pytest.mark.parametrize("settings", [{"fail_rate": 1.5}, {"drop_rate": -0.1}, {"latency_ms": -1}, {"rate_limit": -5}])
def test_faults_refuse_nonsense(settings):
    with pytest.raises(ValueError):
        Faults(**settings)

"""Several `pdrun serve` on one history act as one daemon: each fire once, failover, writes once, one budget.

Replicas and the sandbox are real subprocesses; waits poll the history or
the sandbox's log. Only the failover's bound (15 s) is read from the
timestamps the history recorded, as the requirement states it.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from replicas import Fleet, audit_schedule, requests
from test_sandbox_server import Served, served
from test_serve import wait_for

from runner.history.schema import runs
from runner.timestamps import parse_iso

FIRES = 8
MISFIRE_GRACE_S = 60
FAILOVER_S = 15


@pytest.fixture
def sandbox(tmp_path) -> Iterator[Served]:
    with served(log=tmp_path / "sandbox.log") as server:
        yield server


@pytest.fixture
def fleet_of(tmp_path, sandbox):
    """Make a Fleet on `url`; every replica still running at the end is killed."""
    made: list[Fleet] = []

    def make(url: str, schedules: str, **options) -> Fleet:
        made.append(Fleet(tmp_path, sandbox, url, schedules, runner=f"misfire_grace_s = {MISFIRE_GRACE_S}\n"
                          + options.pop("runner", ""), **options))
        return made[-1]

    yield make
    for fleet in made:
        fleet.kill_all()


def audits(fleet: Fleet) -> list[dict]:
    return fleet.runs(runs.c.schedule == "audit")


def test_three_replicas_run_each_fire_once(history_url, fleet_of, tmp_path):
    fleet = fleet_of(history_url, audit_schedule())
    for _ in range(3):
        fleet.start()
    fleet.wait_runs(FIRES, runs.c.schedule == "audit", runs.c.status == "findings")
    fleet.stop_all()

    done = audits(fleet)
    claimed = fleet.fires()
    assert {r["status"] for r in done} == {"findings"}
    assert sorted(f["run_id"] for f in claimed) == sorted(r["id"] for r in done)
    assert len({f["fire_time"] for f in claimed}) == len(claimed) >= FIRES
    if history_url.startswith("postgresql"):  # one replica leads; on SQLite every replica fires
        assert len({r["replica"] for r in done}) == 1
    # The sandbox agrees: one listing of services per run, and nothing else.
    assert requests(tmp_path / "sandbox.log") == Counter({("GET", "/services", 200): len(done)})


def test_the_others_take_over_when_the_firing_replica_is_killed(postgres_url, fleet_of, tmp_path):
    gate = tmp_path / "never"  # a schedule whose runs never end, so the killed replica leaves one running
    slow = f'[[schedule]]\nname = "slow"\nrecipe = "gate"\nevery = "1s"\nparams = {{ gate = "{gate}" }}\n'
    fleet = fleet_of(postgres_url, audit_schedule() + slow, runner="shutdown_grace_s = 0\n")
    processes = [fleet.start() for _ in range(3)]
    fleet.wait_runs(3, runs.c.schedule == "audit", runs.c.status == "findings")
    leader = next(p for p in processes if p.pid == fleet.firing_pid())
    [stranded] = wait_for(lambda: fleet.runs(runs.c.schedule == "slow", runs.c.status == "running"), "a slow run")
    assert fleet.stop(leader, signal.SIGKILL) == -signal.SIGKILL
    dead = stranded["replica"]

    wait_for(lambda: len([r for r in audits(fleet) if r["replica"] != dead]) >= 3, "runs by another replica")
    interrupted = wait_for(lambda: fleet.runs(runs.c.id == stranded["id"], runs.c.status == "interrupted"),
                           "the killed replica's run to be marked interrupted")
    assert "no heartbeat" in interrupted[0]["error"]
    fleet.stop_all()

    assert not fleet.runs(runs.c.status == "running")
    claimed = [f for f in fleet.fires() if f["schedule"] == "audit"]
    before = [f for f in claimed if f["replica"] == dead]
    after = [f for f in claimed if f["replica"] != dead]
    assert before and after and len({f["replica"] for f in after}) == 1
    took_over = parse_iso(after[0]["claimed_at"]) - parse_iso(before[-1]["fire_time"])
    assert took_over < timedelta(seconds=FAILOVER_S), took_over
    # No fire lost beyond the grace: each second from the first fire to the last was run by a fire claimed
    # within the grace of it (missed seconds coalesce into the next fire).
    times = [(parse_iso(f["fire_time"]), parse_iso(f["claimed_at"])) for f in claimed]
    second, last = times[0][0], times[-1][0]
    while second <= last:
        covering = next(claimed_at for fire_time, claimed_at in times if fire_time >= second)
        assert covering - second <= timedelta(seconds=MISFIRE_GRACE_S), second
        second += timedelta(seconds=1)


def test_a_scheduled_write_on_three_replicas_is_sent_once(postgres_url, fleet_of, tmp_path, sandbox):
    with sandbox.client() as client:
        triggered = [i["id"] for i in client.get("/incidents", params={"statuses[]": "triggered"}).json()["incidents"]]
    # Two schedules plan the same status updates at every fire: PagerDuty keeps nothing to check, so only
    # the write claims in the history keep each one to a single request.
    update = ('recipe = "status-update"\nevery = "1s"\nallow_writes = true\n'
              'params = { status = ["triggered"], message = "Mitigated; monitoring." }\n')
    fleet = fleet_of(postgres_url, "".join(f'[[schedule]]\nname = "{name}"\n{update}' for name in ("one", "two")))
    for _ in range(3):
        fleet.start()
    fleet.wait_runs(6, runs.c.status == "ok")
    fleet.stop_all()

    sent = requests(tmp_path / "sandbox.log")
    posted = Counter({path: n for (method, path, _), n in sent.items() if method == "POST"})
    assert posted == Counter({f"/incidents/{incident}/status_updates": 1 for incident in triggered})
    assert {status for (method, _, status) in sent if method == "POST"} == {200}
    assert {r["status"] for r in fleet.runs(runs.c.schedule.is_not(None))} <= {"ok", "skipped"}


def test_replicas_share_the_rate_budget_so_no_run_meets_a_429(tmp_path):
    budget = 20  # requests a minute: three schedules firing every second want far more
    log = tmp_path / "limited.log"
    with served("--rate-limit", str(budget), log=log) as limited:
        fleet = Fleet(tmp_path, limited, f"sqlite:///{tmp_path / 'history.db'}",
                      audit_schedule("a") + audit_schedule("b") + audit_schedule("c"), rate_limit=budget,
                      runner="shutdown_grace_s = 0\n")
        try:
            for _ in range(3):  # on SQLite every replica fires, so each keeps to a third of the budget
                fleet.start()
            # Runs wait for their replica's share: fires meanwhile find them still going. Without shares, the
            # replicas would have sent more than the budget by now, and met 429s.
            fleet.wait_runs(15, runs.c.status == "skipped")
            fleet.stop_all()
        finally:
            fleet.kill_all()
    assert {r["status"] for r in fleet.runs()} <= {"findings", "skipped", "interrupted"}
    sent = requests(log)
    assert budget // 3 <= sum(sent.values()) <= budget and {status for _, _, status in sent} == {200}

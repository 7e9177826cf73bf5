"""`pdrun serve`: the daemon that fires schedules through the launch path, one run per schedule at a time.

Any number of daemons (replicas) may share one history: each scheduled fire
is claimed in the history before it runs, so it runs on one replica only,
and on PostgreSQL only the replica holding the lead fires at all
(`runner.replicas`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from apscheduler.executors.base import BaseExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger

from runner.errors import ConfigError, PdrunError
from runner.history.store import run_row
from runner.replicas import Replica
from runner.results import run_key
from runner.run import new_run_id
from runner.timestamps import iso, now_iso, parse_iso

if TYPE_CHECKING:
    from apscheduler.job import Job

    from runner.history import History
    from runner.launch import Launch
    from runner.results import RunResult
    from runner.schedules import Schedule

log = structlog.get_logger()

# Fires of one schedule APScheduler may hand over while earlier ones are going: each one still going past
# its claim is a run, and the claim turns every other into a quick skip, so this is only a ceiling.
FIRES_AT_ONCE = 100


class FireExecutor(BaseExecutor):
    """Run each due fire on a thread of its own, handing the job the time it was due.

    APScheduler's own executors call a job without its fire time, and every
    replica claims a fire by that time; so this one passes it on. Like
    theirs, it drops a fire later than the job's misfire grace.
    """

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        due = run_times[-1]  # coalesced: the latest of the fires due

        def fire() -> None:
            late = (datetime.now(UTC) - due).total_seconds()
            try:
                if job.misfire_grace_time is not None and late > job.misfire_grace_time:
                    log.warning("schedule.missed", schedule=job.args[0], due=iso(due), late_s=round(late))
                else:
                    job.func(*job.args, due)
            except Exception as exc:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, [])

        threading.Thread(target=fire, name=f"fire-{job.id}", daemon=True).start()


@dataclass
class Daemon:
    """Fire schedules through a launch per account: one run per schedule and account at a time.

    Each fire claims its (schedule, fire time) in the history and records
    its run in the same transaction; a fire that finds the schedule's
    previous run still going, on any replica, is recorded as skipped.
    So missed fires coalesce, a slow recipe never holds up another
    schedule, and shutdown can wait for runs with a deadline. `on_finished`
    is told of every run this daemon finishes. `launches` holds a launch
    (a session, and the one history they share) for every account the
    schedules use, by name.
    """

    launches: Mapping[str, Launch]
    schedules: list[Schedule]
    misfire_grace_s: int = 300
    on_finished: Callable[[RunResult], None] | None = None
    replica: Replica = field(init=False)
    _scheduler: BackgroundScheduler = field(init=False)
    _running: dict[str, threading.Thread] = field(default_factory=dict)
    _guard: threading.RLock = field(default_factory=threading.RLock)
    _stopping: bool = False

    def __post_init__(self) -> None:
        limiters = [launch.session.limiter for launch in self.launches.values() if launch.session.limiter]
        self.replica = Replica(self.history, lead=self._lead, follow=self._follow, limiters=limiters)

    @property
    def history(self) -> History:
        """The history every account's runs are recorded in."""
        history = next(iter(self.launches.values())).history
        assert history is not None, "pdrun serve always records its runs"
        return history

    def start(self) -> None:
        """Mark orphaned runs, join the replicas, and fire (catching up fires missed) once this one leads."""
        orphans = self.history.interrupt_orphans(at=now_iso())
        if orphans:
            log.warning("runs.orphaned", interrupted=orphans)
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": FireExecutor()},
            job_defaults={"coalesce": True, "max_instances": FIRES_AT_ONCE, "misfire_grace_time": self.misfire_grace_s},
        )
        self._scheduler.start()
        self.replica.start()
        log.info("serve.started", schedules=[s.key for s in self.schedules if s.enabled], replica=self.replica.id,
                 firing=self.replica.firing)

    def reload(self, schedules: list[Schedule]) -> None:
        """Swap in a new set of schedules; runs in progress go on. Schedules on an account this daemon has no
        session for are refused (PdrunError): the running set stays."""
        unopened = sorted({s.account for s in schedules if s.enabled} - set(self.launches))
        if unopened:
            raise ConfigError(f"schedules on accounts pdrun serve did not start with ({', '.join(unopened)}):"
                              " restart it to add an account")
        with self._guard:
            self.schedules = schedules
            if self.replica.firing:
                self._scheduler.remove_all_jobs()
                self._install()
        log.info("serve.reloaded", schedules=[s.key for s in schedules if s.enabled])

    def stop(self, grace_s: float) -> list[str]:
        """Stop firing, give running runs `grace_s` seconds, record the rest as interrupted; return their ids."""
        with self._guard:
            self._stopping = True
            self._scheduler.shutdown(wait=False)
            running = list(self._running.values())
        deadline = threading.Event()
        timer = threading.Timer(grace_s, deadline.set)
        timer.start()
        for thread in running:
            while thread.is_alive() and not deadline.is_set():
                thread.join(0.1)
        timer.cancel()
        with self._guard:
            left = [run_id for run_id, thread in self._running.items() if thread.is_alive()]
        self.history.interrupt(left, at=now_iso())
        self.replica.stop()
        log.info("serve.stopped", interrupted=len(left))
        return left

    def _lead(self) -> None:
        with self._guard:
            if not self._stopping:
                self._install()

    def _follow(self) -> None:
        with self._guard:
            if not self._stopping:
                self._scheduler.remove_all_jobs()

    def _install(self) -> None:
        """Add a job per enabled schedule, and a catch-up fire for each that fell due since its last fire."""
        now = datetime.now(UTC)
        for schedule in self.schedules:
            if not schedule.enabled:
                continue
            last = self.history.last_fire(schedule.name, schedule.account)
            due = schedule.next_fire(parse_iso(last)) if last else None
            if due is not None and due <= now:  # every replica computes the same fire: one of them runs it
                log.info("schedule.catch_up", schedule=schedule.name, account=schedule.account, missed=iso(due))
                self._scheduler.add_job(
                    self._fire, DateTrigger(run_date=due), args=[schedule.key], id=f"{schedule.key} (catch-up)",
                    misfire_grace_time=None, replace_existing=True,
                )
            self._scheduler.add_job(
                self._fire, schedule.trigger, args=[schedule.key], id=schedule.key, name=schedule.key,
                replace_existing=True,
            )

    def _fire(self, key: str, due: datetime | None = None) -> None:
        """Claim the fire of the schedule known by `key` due at `due`, and run it if this replica won it.

        FireExecutor always passes `due`; the default only satisfies
        APScheduler, which checks a job's arguments when it is added.
        """
        schedule = next((s for s in self.schedules if s.key == key), None)
        if schedule is None or due is None or not self.replica.firing:
            return
        launch = self.launches[schedule.account]
        name, account, run_id = schedule.name, launch.session.account, new_run_id()
        row = run_row(run_id, account, run_key(account, schedule.recipe.name, schedule.params), schedule.recipe.name,
                      schedule.params, name, replica=self.replica.id)
        about = {"schedule": name, "account": schedule.account}
        try:
            outcome, started_at = self.replica.fleet.claim_fire(fire=key, fire_time=iso(due), row=row)
        except PdrunError as exc:
            log.error("fire.failed", **about, due=iso(due), error=str(exc))
            return
        if outcome == "taken":
            log.debug("fire.taken", **about, due=iso(due))
            return
        if outcome == "skipped":
            log.warning("run.skipped", **about, recipe=schedule.recipe.name, reason="previous run still going")
            return
        with self._guard:
            stopping = self._stopping
            if not stopping:
                self._running[run_id] = threading.current_thread()
        if stopping:
            self.history.interrupt([run_id], at=now_iso())
            return
        try:
            result = launch.run(
                schedule.recipe, schedule.params, policy=schedule.policy, trigger="schedule",
                schedule=schedule.name, sinks=schedule.sinks, run_id=run_id, started_at=started_at,
            )
            if self.on_finished is not None:
                self.on_finished(result)
        except PdrunError as exc:
            log.error("run.not_recorded", **about, error=str(exc))
        finally:
            with self._guard:
                self._running.pop(run_id, None)


def serve_forever(daemon: Daemon, *, reload: Callable[[], list[Schedule]], grace_s: float) -> None:
    """Run the daemon until SIGTERM or SIGINT; SIGHUP reloads the schedules (a bad config is kept out)."""
    import queue
    import signal

    # A signal handler may interrupt the main thread anywhere, even inside a lock: it only enqueues.
    requests: queue.SimpleQueue[str] = queue.SimpleQueue()

    def handle(signum: int, _frame: Any) -> None:
        requests.put("reload" if signum == signal.SIGHUP else "stop")

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, handle)
    daemon.start()
    while True:
        try:
            request = requests.get(timeout=0.5)
        except queue.Empty:
            continue
        if request == "stop":
            daemon.stop(grace_s)
            return
        try:
            daemon.reload(reload())
        except PdrunError as exc:
            log.error("serve.reload_failed", error=str(exc), kept="the running configuration")

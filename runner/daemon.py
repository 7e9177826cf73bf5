"""`pdrun serve`: the daemon that fires schedules through the launch path, one run per schedule at a time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from runner.errors import PdrunError
from runner.results import run_key
from runner.run import new_run_id
from runner.timestamps import iso, now_iso, parse_iso

if TYPE_CHECKING:
    from runner.history import History
    from runner.launch import Launch
    from runner.schedules import Schedule

log = structlog.get_logger()


@dataclass
class Daemon:
    """Fire schedules through one launch: one run per schedule at a time, all sharing one session.

    An APScheduler job only dispatches: it starts the run on a thread of its
    own, or records the fire as skipped when that schedule's previous run is
    still going. So missed fires coalesce, a slow recipe never holds up
    another schedule, and shutdown can wait for runs with a deadline.
    """

    launch: Launch
    schedules: list[Schedule]
    misfire_grace_s: int = 300
    _scheduler: BackgroundScheduler = field(init=False)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _running: dict[str, threading.Thread] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    @property
    def _history(self) -> History:
        assert self.launch.history is not None, "pdrun serve always records its runs"
        return self.launch.history

    def start(self) -> None:
        """Mark orphaned runs, catch up fires missed while down, and start firing."""
        orphans = self._history.interrupt_orphans(at=now_iso())
        if orphans:
            log.warning("runs.orphaned", interrupted=orphans)
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": self.misfire_grace_s},
        )
        self._install(self.schedules)
        self._scheduler.start()
        log.info("serve.started", schedules=[s.name for s in self.schedules if s.enabled])

    def reload(self, schedules: list[Schedule]) -> None:
        """Swap in a new set of schedules; runs in progress go on."""
        self._scheduler.remove_all_jobs()
        self.schedules = schedules
        self._install(schedules)
        log.info("serve.reloaded", schedules=[s.name for s in schedules if s.enabled])

    def stop(self, grace_s: float) -> list[str]:
        """Stop firing, give running runs `grace_s` seconds, record the rest as interrupted; return their ids."""
        self._scheduler.shutdown(wait=False)
        deadline = threading.Event()
        timer = threading.Timer(grace_s, deadline.set)
        timer.start()
        with self._guard:
            running = list(self._running.values())
        for thread in running:
            while thread.is_alive() and not deadline.is_set():
                thread.join(0.1)
        timer.cancel()
        with self._guard:
            left = [run_id for run_id, thread in self._running.items() if thread.is_alive()]
        self._history.interrupt(left, at=now_iso())
        log.info("serve.stopped", interrupted=len(left))
        return left

    def _install(self, schedules: list[Schedule]) -> None:
        now = datetime.now(UTC)
        for schedule in schedules:
            if not schedule.enabled:
                continue
            catch_up: dict[str, Any] = {}
            last = self._history.last_fire(schedule.name)
            if last:
                due = schedule.next_fire(parse_iso(last), now)
                if due is not None and due <= now:
                    log.info("schedule.catch_up", schedule=schedule.name, missed=iso(due))
                    catch_up["next_run_time"] = now
            self._scheduler.add_job(
                self._fire, schedule.trigger, args=[schedule.name], id=schedule.name,
                name=schedule.name, replace_existing=True, **catch_up,
            )

    def _fire(self, name: str) -> None:
        schedule = next((s for s in self.schedules if s.name == name), None)
        if schedule is None:
            return
        lock = self._locks.setdefault(name, threading.Lock())
        run_id = new_run_id()
        if not lock.acquire(blocking=False):
            log.warning("run.skipped", schedule=name, recipe=schedule.recipe.name, reason="previous run still going")
            account = self.launch.session.url
            self._history.record_skipped(
                run_id=run_id, account=account, key=run_key(account, schedule.recipe.name, schedule.params),
                recipe=schedule.recipe.name, params=schedule.params, schedule=name, at=now_iso(),
                reason="the previous run of this schedule was still going",
            )
            return
        thread = threading.Thread(target=self._run, args=(schedule, lock, run_id), name=f"run-{name}", daemon=True)
        with self._guard:
            self._running[run_id] = thread
        thread.start()

    def _run(self, schedule: Schedule, lock: threading.Lock, run_id: str) -> None:
        try:
            self.launch.run(
                schedule.recipe, schedule.params, policy=schedule.policy, trigger="schedule",
                schedule=schedule.name, sinks=schedule.sinks, run_id=run_id,
            )
        except PdrunError as exc:
            log.error("run.not_recorded", schedule=schedule.name, error=str(exc))
        finally:
            lock.release()
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

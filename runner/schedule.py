"""Schedules from config.toml, and the `pdrun serve` daemon that fires them through run_recipe."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from runner.clock import iso, now_iso, parse_iso
from runner.config import Config, ScheduleConfig
from runner.errors import ConfigError, PdrunError, suggest
from runner.log import get_logger
from runner.recipe import Recipe
from runner.run import new_run_id, run_recipe
from runner.sinks import BoundSink, SinkContext, bind_sinks
from runner.writes import DEFAULT_MAX_WRITES, WritePolicy

if TYPE_CHECKING:
    from runner.history import History
    from runner.plugins import Registry
    from runner.session import Session

log = get_logger(__name__)

EVERY = re.compile(r"^(\d+)\s*(s|m|h|d)$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Schedule:
    """A checked `[[schedule]]`: the recipe, its parameters, when it fires, where results go."""

    name: str
    recipe: Recipe
    params: Mapping[str, Any]
    trigger: BaseTrigger
    when: str
    timezone: ZoneInfo
    enabled: bool
    sinks: tuple[BoundSink, ...] = ()
    # A schedule has nobody to ask: allow_writes is its consent, within this cap on changed objects.
    policy: WritePolicy = WritePolicy(assume_yes=True)

    def next_fire(self, after: datetime | None, now: datetime) -> datetime | None:
        """The first fire time after `after` (or from `now` when None), in the schedule's timezone."""
        return self.trigger.get_next_fire_time(after, now)


def parse_every(text: str) -> int:
    """Turn "90s", "15m", "1h" or "1d" into seconds; raise ValueError otherwise."""
    match = EVERY.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"expected a positive duration such as 90s, 15m, 1h or 1d, got {text!r}")
    return int(match.group(1)) * UNIT_SECONDS[match.group(2)]


def build_schedules(config: Config, registry: Registry) -> list[Schedule]:
    """Check every `[[schedule]]` table; raise ConfigError listing all problems at once."""
    problems: list[str] = []
    schedules = []
    counts = Counter(s.label for s in config.schedules)
    defaults: dict[str, dict[str, Any]] = {}
    try:
        defaults = registry.configured_defaults(config)
    except PdrunError as exc:
        problems.append(str(exc))
    for n, table in enumerate(config.schedules, 1):
        where = f"[[schedule]] #{n} ({table.label})"
        if counts[table.label] > 1:
            problems.append(f"{where}: two schedules are named {table.label!r}; give each a distinct name")
        try:
            schedules.append(_build(table, config, registry, defaults))
        except (PdrunError, ValueError) as exc:
            problems.append(f"{where}: {exc}")
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(f"{config.source}: {len(problems)} problem(s) with the schedules:\n{listed}")
    return schedules


def _build(table: ScheduleConfig, config: Config, registry: Registry, defaults: Mapping[str, Any]) -> Schedule:
    recipe = registry.recipes.get(table.recipe)
    if recipe is None:
        raise ValueError(f"unknown recipe {table.recipe!r}{suggest(table.recipe, registry.recipes)}")
    try:
        timezone = ZoneInfo(table.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {table.timezone!r}") from None
    if (table.cron is None) == (table.every is None):
        raise ValueError("give exactly one of cron or every")
    if table.cron is not None:
        try:
            trigger: BaseTrigger = CronTrigger.from_crontab(table.cron, timezone=timezone)
        except ValueError as exc:
            raise ValueError(f"bad cron {table.cron!r}: {exc}") from None
        when = f"cron {table.cron}"
    else:
        trigger = IntervalTrigger(seconds=parse_every(table.every), timezone=timezone)
        when = f"every {table.every}"
    if recipe.writes and not table.allow_writes:
        raise ValueError(f"recipe {recipe.name!r} writes to PagerDuty; set allow_writes = true to schedule it")
    if recipe.writes and not config.pagerduty.from_email:
        raise ValueError(f"recipe {recipe.name!r} writes to PagerDuty, which needs from_email in [pagerduty]")
    merged = {**defaults.get(recipe.name, {}), **recipe.check_defaults(table.params, source="params")}
    params = recipe.resolve_params({}, merged)
    sinks = bind_sinks(table.sinks, config, registry.sinks)
    cap = next((c for c in (table.max_writes, config.max_writes(recipe.name)) if c is not None), DEFAULT_MAX_WRITES)
    return Schedule(
        name=table.label,
        recipe=recipe,
        params=params,
        trigger=trigger,
        when=when,
        timezone=timezone,
        enabled=table.enabled,
        sinks=tuple(sinks),
        policy=WritePolicy(max_writes=cap, assume_yes=True),
    )


@dataclass
class Daemon:
    """Fire schedules through run_recipe: one run per schedule at a time, all sharing one session.

    An APScheduler job only dispatches: it starts the run on a thread of its
    own, or records the fire as skipped when that schedule's previous run is
    still going. So missed fires coalesce, a slow recipe never holds up
    another schedule, and shutdown can wait for runs with a deadline.
    """

    session: Session
    history: History
    schedules: list[Schedule]
    sink_context: SinkContext
    misfire_grace_s: int = 300
    _scheduler: BackgroundScheduler = field(init=False)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _running: dict[str, threading.Thread] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        """Mark orphaned runs, catch up fires missed while down, and start firing."""
        orphans = self.history.interrupt_orphans(at=now_iso())
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
        self.history.interrupt(left, at=now_iso())
        log.info("serve.stopped", interrupted=len(left))
        return left

    def _install(self, schedules: list[Schedule]) -> None:
        now = datetime.now(UTC)
        for schedule in schedules:
            if not schedule.enabled:
                continue
            catch_up: dict[str, Any] = {}
            last = self.history.last_fire(schedule.name)
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
            self.history.record_skipped(
                run_id=run_id, account=self.session.url, recipe=schedule.recipe.name, params=schedule.params,
                schedule=name,
                at=now_iso(), reason="the previous run of this schedule was still going",
            )
            return
        thread = threading.Thread(target=self._run, args=(schedule, lock, run_id), name=f"run-{name}", daemon=True)
        with self._guard:
            self._running[run_id] = thread
        thread.start()

    def _run(self, schedule: Schedule, lock: threading.Lock, run_id: str) -> None:
        try:
            run_recipe(
                schedule.recipe, session=self.session, params=schedule.params, trigger="schedule",
                schedule=schedule.name, history=self.history, sinks=schedule.sinks,
                sink_context=self.sink_context, run_id=run_id, policy=schedule.policy,
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

"""Schedules from config.toml, checked: the recipe, its parameters, when it fires, where results go."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from runner.config import Config, ScheduleConfig
from runner.errors import ConfigError, PdrunError, suggest
from runner.launch import Consent, Target, require_writer
from runner.policy import WritePolicy
from runner.results import DEFAULT_ACCOUNT
from runner.sinks import bind_sinks

if TYPE_CHECKING:
    from runner.launch import Launcher
    from runner.recipe import Recipe

EVERY = re.compile(r"^(\d{1,9})\s*(s|m|h|d)$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
LONGEST_EVERY_S = 366 * 86400
# `every` fires fall on multiples of the interval since this instant, so every replica agrees on each fire's
# time (and `every = "1h"` fires on the hour).
EVERY_SINCE = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Schedule:
    """A checked `[[schedule]]` on one account: the recipe, its parameters, when it fires, where results go.

    A table with `accounts = [...]` is one Schedule per account, each firing a run of its own.
    """

    name: str
    account: str
    recipe: Recipe
    params: Mapping[str, Any]
    trigger: BaseTrigger
    when: str
    timezone: ZoneInfo
    enabled: bool
    sinks: tuple[str, ...]
    # A schedule has nobody to ask: allow_writes is its consent, within a cap on changed objects.
    policy: WritePolicy

    @property
    def key(self) -> str:
        """What its fires are claimed and its jobs known by: the name, and the account unless it is the default."""
        return self.name if self.account == DEFAULT_ACCOUNT else f"{self.name}@{self.account}"

    def next_fire(self, after: datetime) -> datetime | None:
        """The first fire time after `after`, in the schedule's timezone (None: it never fires again)."""
        return self.trigger.get_next_fire_time(None, after.astimezone(self.timezone) + timedelta(microseconds=1))


def parse_every(text: str) -> int:
    """Turn "90s", "15m", "1h" or "1d" (at most a year) into seconds; raise ValueError otherwise."""
    match = EVERY.match(text.strip())
    seconds = int(match.group(1)) * UNIT_SECONDS[match.group(2)] if match else 0
    if not 0 < seconds <= LONGEST_EVERY_S:
        raise ValueError(f"expected a duration from 1s to 366d, such as 90s, 15m, 1h or 1d, got {text!r}")
    return seconds


def build_schedules(config: Config, launcher: Launcher, account: str | None = None) -> list[Schedule]:
    """Check every `[[schedule]]` table; raise ConfigError listing all problems at once.

    A table naming no account runs on `account`, else on the one commands use ($PDRUN_ACCOUNT's, or the default).
    """
    problems: list[str] = []
    schedules = []
    counts = Counter(s.label for s in config.schedules)
    try:
        launcher.registry().configured_defaults(config)
    except PdrunError as exc:
        problems.append(str(exc))
    for n, table in enumerate(config.schedules, 1):
        where = f"[[schedule]] #{n} ({table.label})"
        if counts[table.label] > 1:
            problems.append(f"{where}: two schedules are named {table.label!r}; give each a distinct name")
        try:
            schedules += _build(table, config, launcher, account)
        except (PdrunError, ValueError) as exc:
            problems.append(f"{where}: {exc}")
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(f"{config.source}: {len(problems)} problem(s) with the schedules:\n{listed}")
    return schedules


def _accounts(table: ScheduleConfig, config: Config, launcher: Launcher, fallback: str | None) -> list[str]:
    """The accounts a table runs on: `account`, each of `accounts`, or the one commands use."""
    if table.account is not None and table.accounts:
        raise ValueError("give account or accounts, not both")
    named = table.accounts or ([table.account] if table.account is not None else [])
    if not all(isinstance(name, str) for name in named) or len(set(named)) < len(named):
        raise ValueError(f"accounts: expected distinct account names, got {named!r}")
    for name in named:
        config.account(name, where=f"account {name!r}")
    return named or launcher.accounts(config, Target(accounts=(fallback,) if fallback else ()))


def _build(table: ScheduleConfig, config: Config, launcher: Launcher, fallback: str | None) -> list[Schedule]:
    registry = launcher.registry()
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
        trigger = IntervalTrigger(seconds=parse_every(table.every), start_date=EVERY_SINCE, timezone=timezone)
        when = f"every {table.every}"
    if recipe.writes and not table.allow_writes:
        raise ValueError(f"recipe {recipe.name!r} writes to PagerDuty; set allow_writes = true to schedule it")
    accounts = _accounts(table, config, launcher, fallback)
    for account in accounts:
        require_writer(config, recipe, account)
    params = launcher.params(config, recipe, configured=table.params, source="params")
    bind_sinks(table.sinks, config, registry.sinks)  # checked now, bound at each fire
    policy = launcher.policy(config, recipe, Consent(yes=True), cap=table.max_writes)
    return [
        Schedule(name=table.label, account=account, recipe=recipe, params=params, trigger=trigger, when=when,
                 timezone=timezone, enabled=table.enabled, sinks=tuple(table.sinks), policy=policy)
        for account in accounts
    ]

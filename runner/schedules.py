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
from runner.launch import Consent
from runner.policy import WritePolicy
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
    """A checked `[[schedule]]`: the recipe, its parameters, when it fires, where results go."""

    name: str
    recipe: Recipe
    params: Mapping[str, Any]
    trigger: BaseTrigger
    when: str
    timezone: ZoneInfo
    enabled: bool
    sinks: tuple[str, ...]
    # A schedule has nobody to ask: allow_writes is its consent, within a cap on changed objects.
    policy: WritePolicy

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


def build_schedules(config: Config, launcher: Launcher) -> list[Schedule]:
    """Check every `[[schedule]]` table; raise ConfigError listing all problems at once."""
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
            schedules.append(_build(table, config, launcher))
        except (PdrunError, ValueError) as exc:
            problems.append(f"{where}: {exc}")
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(f"{config.source}: {len(problems)} problem(s) with the schedules:\n{listed}")
    return schedules


def _build(table: ScheduleConfig, config: Config, launcher: Launcher) -> Schedule:
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
    if recipe.writes and not config.pagerduty.from_email:
        raise ValueError(f"recipe {recipe.name!r} writes to PagerDuty, which needs from_email in [pagerduty]")
    params = launcher.params(config, recipe, configured=table.params, source="params")
    bind_sinks(table.sinks, config, registry.sinks)  # checked now, bound at each fire
    return Schedule(
        name=table.label,
        recipe=recipe,
        params=params,
        trigger=trigger,
        when=when,
        timezone=timezone,
        enabled=table.enabled,
        sinks=tuple(table.sinks),
        policy=launcher.policy(config, recipe, Consent(yes=True), cap=table.max_writes),
    )

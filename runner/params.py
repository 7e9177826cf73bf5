"""Declared parameters of recipes and sinks: their types, limits and defaults, and how values are checked."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from runner.errors import UsageError
from runner.timestamps import iso

PARAM_TYPES = (str, int, float, bool)
# PagerDuty's object ids: capital letters and digits (PWCQIH1; newer incident ids are longer).
PAGERDUTY_ID = r"[A-Z0-9]{2,32}"
# A user named by id or by email address (`--user PXPGF42` or `--user kim.park@example.com`).
USER_ID_OR_EMAIL = rf"{PAGERDUTY_ID}|[^@\s]+@[^@\s]+\.[^@\s]+"
SHAPES = {
    PAGERDUTY_ID: "a PagerDuty id (capital letters and digits, e.g. PWCQIH1)",
    USER_ID_OR_EMAIL: "a PagerDuty user id or an email address (e.g. PXPGF42 or kim.park@example.com)",
}


@dataclass(frozen=True, kw_only=True)
class Param:
    """One declared parameter: drives CLI options, `pdrun describe`, and config checks.

    `type` is str, int, float or bool; without it, the type of `default`
    (of its first item, for a `multiple` one), else str. A default that does
    not fit the parameter raises TypeError where it is declared. `minimum`
    and `maximum` bound numbers; `pattern` is a regular expression every
    string value must match whole (`PAGERDUTY_ID` for object ids). A
    required `str` may not be blank.
    """

    name: str
    type: type | None = None
    help: str = ""
    default: Any = None
    required: bool = False
    multiple: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    _regex: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"parameter {self.name!r}: name must be a Python identifier")
        if self.type is None:
            object.__setattr__(self, "type", _implied_type(self.default, self.multiple))
        if self.type not in PARAM_TYPES:
            raise TypeError(f"parameter {self.name!r}: type must be one of str, int, float, bool, not {self.type!r}")
        object.__setattr__(self, "choices", tuple(self.choices))
        if self.pattern is not None:
            object.__setattr__(self, "_regex", re.compile(self.pattern))
        if self.default is not None:
            try:
                object.__setattr__(self, "default", self.validate(self.default, where=f"parameter {self.name!r} default"))
            except UsageError as exc:
                raise TypeError(str(exc)) from None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def validate(self, value: Any, *, where: str) -> Any:
        """Return `value` if it fits this parameter (a tuple for a repeatable one), else raise UsageError."""
        if self.multiple:
            if not isinstance(value, (list, tuple)):
                raise UsageError(f"{where}: expected a list of {self.type.__name__}")
            return tuple(self._one(item, where) for item in value)
        return self._one(value, where)

    def _one(self, value: Any, where: str) -> Any:
        if not _fits(value, self.type):
            raise UsageError(f"{where}: expected {self.type.__name__}, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise UsageError(f"{where}: expected a finite number, got {value!r}")
        if self.choices and value not in self.choices:
            raise UsageError(f"{where}: expected one of {', '.join(self.choices)}, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise UsageError(f"{where}: expected at least {self.minimum:g}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise UsageError(f"{where}: expected at most {self.maximum:g}, got {value!r}")
        if isinstance(value, str):
            if self.required and not value.strip():
                raise UsageError(f"{where}: must not be empty")
            if self._regex is not None and not self._regex.fullmatch(value):
                shape = SHAPES.get(self.pattern, f"text matching {self.pattern}")
                raise UsageError(f"{where}: expected {shape}, got {value!r}")
        return float(value) if self.type is float else value

    def empty_default(self) -> Any:
        return () if self.multiple and self.default is None else self.default


def validate_table(params: Iterable[Param], table: Mapping[str, Any], *, source: str, owner: str) -> dict[str, Any]:
    """Check configured values against declared parameters: known names, right types, within limits."""
    declared = {p.name: p for p in params}
    checked = {}
    for key, value in table.items():
        if key not in declared:
            known = ", ".join(declared) or "none"
            raise UsageError(f"{source}: unknown parameter {key!r} ({owner} takes: {known})")
        checked[key] = declared[key].validate(value, where=f"{source} {key}")
    return checked


def _implied_type(default: Any, multiple: bool) -> type:
    """The type a default implies: its own (its first item's, for a repeatable parameter), else str."""
    example = default
    if multiple:
        example = default[0] if isinstance(default, (list, tuple)) and default else None
    return str if example is None else type(example)


def _fits(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


# Times a user may give: arithmetic on them by a period or a window never leaves datetime's range.
EARLIEST_MOMENT, LATEST_MOMENT = datetime(1970, 1, 1, tzinfo=UTC), datetime(3000, 1, 1, tzinfo=UTC)


def period_params(default_days: int) -> tuple[Param, ...]:
    """The options of a recipe with a period: `--since`/`--until` (ISO 8601) or `--days` back from now."""
    return (
        Param(name="since", help="Start of the period, ISO 8601 (e.g. 2026-11-01 or 2026-11-01T09:00:00Z)."),
        Param(name="until", help="End of the period, ISO 8601 (default: now)."),
        Param(name="days", type=int, minimum=1, maximum=3660,
              help=f"The period is the last N days up to --until (default {default_days}, unless --since)."),
    )


def period_of(params: Mapping[str, Any], *, now: datetime, default_days: int) -> tuple[datetime, datetime]:
    """The (since, until) a recipe's period options choose, in UTC; UsageError if they contradict."""
    until = parse_moment(params.get("until"), "--until") or now
    since = parse_moment(params.get("since"), "--since")
    if since is not None and params.get("days") is not None:
        raise UsageError("give --since or --days, not both")
    since = since or until - timedelta(days=params.get("days") or default_days)
    if since >= until:
        raise UsageError(f"the period must end after it starts (--since {iso(since)}, --until {iso(until)})")
    return since, until


def parse_moment(text: str | None, flag: str) -> datetime | None:
    """Read an ISO 8601 date or time given as `flag` (UTC when it names no zone); UsageError if it is none."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag} {text!r}: expected an ISO 8601 date or time, e.g. 2026-11-01 or 2026-11-01T09:00:00Z")\
            from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not EARLIEST_MOMENT <= moment < LATEST_MOMENT:
        raise UsageError(f"{flag} {text!r}: expected a time from {EARLIEST_MOMENT.year} to {LATEST_MOMENT.year - 1}")
    return moment

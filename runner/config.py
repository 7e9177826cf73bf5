"""Read config.toml into frozen dataclasses; every error names the file and the key."""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from types import MappingProxyType, UnionType
from typing import Any
from urllib.parse import urlsplit

from runner.errors import ConfigError
from runner.results import ACCOUNT_NAME, DEFAULT_ACCOUNT

CONFIG_ENV = "PDRUN_CONFIG"
REGION_URLS = {"us": "https://api.pagerduty.com", "eu": "https://api.eu.pagerduty.com"}
REGION_EVENTS_URLS = {"us": "https://events.pagerduty.com", "eu": "https://events.eu.pagerduty.com"}


def _choice(*values: str) -> dict[str, tuple[str, ...]]:
    return {"choices": values}


def _within(minimum: float, maximum: float) -> dict[str, float]:
    return {"min": minimum, "max": maximum}


@dataclass(frozen=True, kw_only=True)
class PagerDutyConfig:
    """The `[pagerduty]` table, or an `[accounts.<name>]` one: how to reach and authenticate to an account."""

    token_env: str = "PAGERDUTY_API_TOKEN"
    token_file: str | None = None
    region: str = field(default="us", metadata=_choice(*REGION_URLS))
    from_email: str | None = None
    base_url: str | None = None
    timeout: float = field(default=30.0, metadata=_within(0.1, 600))
    max_retries: int = field(default=4, metadata=_within(0, 20))
    rate_limit: int = field(default=900, metadata=_within(0, 100_000))
    concurrency: int = field(default=8, metadata=_within(1, 64))

    @property
    def url(self) -> str:
        return (self.base_url or REGION_URLS[self.region]).rstrip("/")

    @property
    def events_url(self) -> str:
        """The Events API endpoint: the region's, or the custom base URL (a local sandbox serves both)."""
        return (self.base_url or REGION_EVENTS_URLS[self.region]).rstrip("/")


@dataclass(frozen=True, kw_only=True)
class LoggingConfig:
    """The `[logging]` table."""

    format: str = field(default="auto", metadata=_choice("auto", "json", "console"))
    level: str = field(default="info", metadata=_choice("debug", "info", "warning", "error"))


@dataclass(frozen=True, kw_only=True)
class RunnerConfig:
    """The `[runner]` table: the run history and the scheduler daemon."""

    state: str | None = None
    state_env: str | None = None
    keep_runs_days: int = field(default=90, metadata=_within(1, 36_500))
    misfire_grace_s: int = field(default=300, metadata=_within(1, 86_400))
    shutdown_grace_s: int = field(default=30, metadata=_within(0, 3_600))


@dataclass(frozen=True, kw_only=True)
class ScheduleConfig:
    """One `[[schedule]]` table: a recipe, when it runs, and where its results go."""

    recipe: str
    name: str | None = None
    cron: str | None = None
    every: str | None = None
    timezone: str = "UTC"
    params: dict = field(default_factory=dict)
    enabled: bool = True
    allow_writes: bool = False
    max_writes: int | None = field(default=None, metadata=_within(0, 1_000_000))
    sinks: list = field(default_factory=list)
    account: str | None = None
    accounts: list = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.name or self.recipe


@dataclass(frozen=True, kw_only=True)
class Config:
    """The whole configuration, and the file it came from (None for built-in defaults)."""

    path: Path | None = None
    pagerduty: PagerDutyConfig = field(default_factory=PagerDutyConfig)
    named_accounts: Mapping[str, PagerDutyConfig] = field(default_factory=lambda: MappingProxyType({}))
    # Whether [pagerduty] is an account (the default one): unless the file names accounts but has no [pagerduty].
    default_account: bool = True
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    runner: RunnerConfig = field(default_factory=RunnerConfig)
    recipes: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    sinks: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    schedules: tuple[ScheduleConfig, ...] = ()

    @property
    def source(self) -> str:
        return str(self.path) if self.path else "built-in defaults"

    @property
    def accounts(self) -> dict[str, PagerDutyConfig]:
        """Every account, by name: the default one ([pagerduty]) first, then the `[accounts.<name>]` tables."""
        return ({DEFAULT_ACCOUNT: self.pagerduty} if self.default_account else {}) | dict(self.named_accounts)

    def account(self, name: str, *, where: str) -> PagerDutyConfig:
        """The settings of account `name` (as `where` names it), or ConfigError listing the known accounts."""
        accounts = self.accounts
        if name not in accounts:
            raise ConfigError(f"{where}: no account named {name!r} in {self.source}"
                              f" (known: {', '.join(accounts) or 'none'})")
        return accounts[name]

    def max_writes(self, recipe: str) -> int | None:
        """The cap `[recipes.<recipe>] max_writes` sets, if any."""
        return self.recipes.get(recipe, {}).get("max_writes")


SECTIONS = {"pagerduty": PagerDutyConfig, "logging": LoggingConfig, "runner": RunnerConfig}
NAMED_TABLES = {"recipes": "recipe", "sinks": "sink"}


def locate(explicit: Path | None, environ: Mapping[str, str], cwd: Path) -> Path | None:
    """Find the configuration file: --config, then $PDRUN_CONFIG, then ./config.toml."""
    for path, origin in ((explicit, "--config"), (environ.get(CONFIG_ENV), f"${CONFIG_ENV}")):
        if path:
            path = Path(path)
            if not path.is_file():
                raise ConfigError(f"{path}: no such configuration file (from {origin})")
            return path
    default = cwd / "config.toml"
    return default if default.is_file() else None


def load(explicit: Path | None = None, environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Config:
    """Locate and parse the configuration; without a file, return the built-in defaults."""
    path = locate(explicit, os.environ if environ is None else environ, cwd or Path.cwd())
    if path is None:
        return Config()
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except (tomllib.TOMLDecodeError, RecursionError) as exc:  # RecursionError: arrays nested too deep
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return parse(data, path)


def parse(data: Mapping[str, Any], path: Path) -> Config:
    """Check a decoded configuration document and build a Config from it."""
    known = {*SECTIONS, *NAMED_TABLES, "accounts", "schedule"}
    for key in data:
        if key not in known:
            raise ConfigError(f"{path}: unknown table [{key}] (known: {', '.join(sorted(known))})")
    sections = {name: _section(cls, data.get(name, {}), f"{path}: [{name}]") for name, cls in SECTIONS.items()}
    if sections["pagerduty"].base_url:
        check_url(sections["pagerduty"].base_url, where=f"{path}: [pagerduty] base_url")
    named = {key: _named_tables(data.get(key, {}), path, key, what) for key, what in NAMED_TABLES.items()}
    accounts = _accounts(data.get("accounts", {}), path)
    schedules = data.get("schedule", [])
    if not isinstance(schedules, list):
        raise ConfigError(f"{path}: schedules are written as [[schedule]] tables")
    return Config(
        path=path,
        named_accounts=accounts,
        default_account="pagerduty" in data or not accounts,
        schedules=tuple(
            _section(ScheduleConfig, table, f"{path}: [[schedule]] #{n}") for n, table in enumerate(schedules, 1)
        ),
        **named,
        **sections,
    )


def _named_tables(tables: Any, path: Path, key: str, what: str) -> Mapping[str, Mapping[str, Any]]:
    if not isinstance(tables, dict) or not all(isinstance(v, dict) for v in tables.values()):
        raise ConfigError(f"{path}: [{key}] must hold one table per {what}, as [{key}.<name>]")
    return MappingProxyType({name: MappingProxyType(table) for name, table in tables.items()})


def _accounts(tables: Any, path: Path) -> Mapping[str, PagerDutyConfig]:
    """Check the `[accounts.<name>]` tables: a name fit for a subdomain, the token's source, the settings."""
    accounts = {}
    for name, table in _named_tables(tables, path, "accounts", "account").items():
        where = f"{path}: [accounts.{name}]"
        if name == DEFAULT_ACCOUNT:
            raise ConfigError(f"{where}: the account named {DEFAULT_ACCOUNT} is [pagerduty];"
                              " give this one another name")
        if not ACCOUNT_NAME.fullmatch(name):
            raise ConfigError(f"{where}: an account's name is lower-case letters, digits and dashes, as a subdomain is")
        if "token_env" not in table and "token_file" not in table:
            raise ConfigError(f"{where}: give token_env (the environment variable holding this account's token)"
                              " or token_file; an account never borrows another's token")
        accounts[name] = _section(PagerDutyConfig, dict(table), where)
        if accounts[name].base_url:
            check_url(accounts[name].base_url, where=f"{where} base_url")
    return MappingProxyType(accounts)


def account_table(name: str) -> str:
    """Where an account is configured: `[pagerduty]` for the default one, else `[accounts.<name>]`."""
    return "[pagerduty]" if name == DEFAULT_ACCOUNT else f"[accounts.{name}]"


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def check_url(url: str, *, where: str) -> str:
    """Return `url` if it is an https URL, or an http one on this machine; else raise ConfigError.

    Plain HTTP would carry the token in clear, so it is for a local sandbox only.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
    if host is None or parts.scheme not in ("http", "https"):
        raise ConfigError(f"{where}: expected an https:// URL, got {url!r}")
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise ConfigError(f"{where}: plain http:// is allowed only on this machine (127.0.0.1, ::1), got {url!r}")
    return url


def _section(cls: type, table: Any, where: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    missing = [f.name for f in fields.values() if f.default is MISSING and f.default_factory is MISSING]
    for key in missing:
        if key not in table:
            raise ConfigError(f"{where}: missing key {key!r}")
    for key, value in table.items():
        if key not in fields:
            raise ConfigError(f"{where} {key}: unknown key (known: {', '.join(fields)})")
        expected = _allowed_types(hints[key])
        if not isinstance(value, expected) or isinstance(value, bool) and bool not in expected:
            names = " or ".join(t.__name__ for t in expected)
            raise ConfigError(f"{where} {key}: expected {names}, got {value!r}")
        if isinstance(value, str) and not value.strip():
            raise ConfigError(f"{where} {key}: must not be empty (leave the key out for its default)")
        choices = fields[key].metadata.get("choices")
        if choices and value not in choices:
            raise ConfigError(f"{where} {key}: expected one of {', '.join(choices)}, got {value!r}")
        low, high = fields[key].metadata.get("min"), fields[key].metadata.get("max")
        if low is not None and value is not None and not low <= value <= high:
            raise ConfigError(f"{where} {key}: expected a number from {low:g} to {high:g}, got {value!r}")
    return cls(**table)


def _allowed_types(hint: Any) -> tuple[type, ...]:
    """Map a field's type hint to the TOML value types it accepts (a float also takes an int)."""
    kinds = typing.get_args(hint) if isinstance(hint, UnionType) else (hint,)
    return tuple(t for k in kinds if k is not type(None) for t in ((int, float) if k is float else (k,)))

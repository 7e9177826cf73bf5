"""The one launch path: from a configuration, a target, recipes and parameters to runs, closing what it opened.

The CLI's recipe commands, `apply`, `audit`, `serve` and the testing kit
all start runs here; none of them builds a session, opens the history or
resolves parameters itself. This module is also the one place the core
reaches the sandbox: the `--sandbox` target.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.errors import ConfigError, UsageError
from runner.results import DEFAULT_ACCOUNT

if TYPE_CHECKING:
    from runner import config as pdconfig
    from runner.history import History
    from runner.plugins import Registry
    from runner.policy import WritePolicy
    from runner.recipe import Recipe
    from runner.results import Action, RunResult
    from runner.session import Session


ACCOUNT_ENV = "PDRUN_ACCOUNT"


@dataclass(frozen=True)
class Target:
    """Which accounts runs talk to: configured ones, one of them at another base URL, or the built-in sandbox.

    `accounts` names them (none: $PDRUN_ACCOUNT's, else the default
    account); `all_accounts` takes every configured one. With `sandbox`,
    each account is a sandbox account of its own.
    """

    sandbox: bool = False
    base_url: str | None = None
    accounts: tuple[str, ...] = ()
    all_accounts: bool = False

    def __post_init__(self) -> None:
        if self.sandbox and self.base_url:
            raise UsageError("--sandbox and --base-url exclude each other")
        if self.all_accounts and self.accounts:
            raise UsageError("--account and --all-accounts exclude each other")
        if self.base_url and self.several:
            asked = "every account" if self.all_accounts else f"accounts {', '.join(dict.fromkeys(self.accounts))}"
            raise UsageError(f"--base-url points one account elsewhere, and these runs are on {asked}")

    @property
    def several(self) -> bool:
        """Whether several accounts are asked for, so results come one section per account."""
        return self.all_accounts or len(set(self.accounts)) > 1


@dataclass(frozen=True, kw_only=True)
class Consent:
    """What the person launching a write run agreed to: a cap, confirmation, resending unknown writes."""

    max_writes: int | None = None
    yes: bool = False
    confirm: Callable[[Sequence[Action]], bool] | None = None
    resend_unknown: bool = False


@dataclass
class Launcher:
    """What every run starts from: the process environment, the working directory, the plugins.

    `sandbox_app` builds the app `--sandbox` runs against (default: a fresh
    demo account, whose subdomain is the account's name but for the default
    account); tests pass their own, which every account then shares.
    `disabled` names plugins to leave out; `reserved_params` are option
    names the CLI gives every run, which no recipe parameter may take.
    `sleep` is how sessions wait between retries.
    """

    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    cwd: Path = field(default_factory=Path.cwd)
    sandbox_app: Callable[[], Any] | None = None
    disabled: tuple[str, ...] = ()
    reserved_params: frozenset[str] = frozenset()
    sleep: Callable[[float], None] = time.sleep
    _registry: Registry | None = None

    def config(self, path: Path | None) -> pdconfig.Config:
        """Load the configuration: `path`, else $PDRUN_CONFIG, else ./config.toml, else the defaults."""
        from runner import config as pdconfig  # loaded by the commands that run something, not by list

        return pdconfig.load(path, self.environ, self.cwd)

    def registry(self) -> Registry:
        """Every plugin's recipes, sinks and commands, loaded once."""
        if self._registry is None:
            from runner.plugins import load_registry

            self._registry = load_registry(
                reserved_params=self.reserved_params, environ=self.environ, disabled=self.disabled
            )
        return self._registry

    def params(self, config: pdconfig.Config, recipe: Recipe, given: Mapping[str, Any] | None = None, *,
               configured: Mapping[str, Any] | None = None, source: str = "params") -> dict[str, Any]:
        """Resolve a recipe's parameters: `given` (the command line) over `configured` (a schedule's
        params) over `[recipes.<name>]` in config.toml over the declared defaults."""
        defaults = self.registry().configured_defaults(config).get(recipe.name, {})
        if configured:
            defaults = {**defaults, **recipe.configured(configured, source=source)}
        return recipe.resolve_params(given or {}, defaults)

    def policy(self, config: pdconfig.Config, recipe: Recipe, consent: Consent, *,
               cap: int | None = None) -> WritePolicy:
        """The write policy of a run: the cap (`consent`, else `cap`, else config, else the default) and confirmation."""
        from runner.policy import DEFAULT_MAX_WRITES, WritePolicy

        chosen = next((c for c in (consent.max_writes, cap, config.max_writes(recipe.name)) if c is not None),
                      DEFAULT_MAX_WRITES)
        return WritePolicy(allowed=bool(recipe.writes), max_writes=chosen, confirm=consent.confirm,
                           assume_yes=consent.yes, resend_unknown=consent.resend_unknown)

    def accounts(self, config: pdconfig.Config, target: Target) -> list[str]:
        """The names of the accounts `target` asks for, each checked against the configuration."""
        if target.all_accounts:
            return list(config.accounts)
        for name in target.accounts:
            config.account(name, where=f"--account {name}")
        if target.accounts:
            return list(dict.fromkeys(target.accounts))
        chosen = self.environ.get(ACCOUNT_ENV, "").strip()
        if chosen:
            config.account(chosen, where=f"${ACCOUNT_ENV}={chosen}")
            return [chosen]
        if DEFAULT_ACCOUNT not in config.accounts:
            raise ConfigError(f"{config.source} has no [pagerduty] (the default account): choose one of its accounts"
                              f" with --account NAME or ${ACCOUNT_ENV} (known: {', '.join(config.accounts)})")
        return [DEFAULT_ACCOUNT]

    def session(self, config: pdconfig.Config, target: Target, account: str | None = None, *,
                acting_as: str | None = None) -> Session:
        """Open the PagerDuty session of `account` (default: the one account `target` asks for), or raise a
        UsageError/ConfigError saying what is missing. `acting_as` is the `From` of its writes, over the
        account's from_email (a saved plan's)."""
        from runner.session import connect, read_token

        if account is None:
            (account,) = self._one(config, target)
        settings = config.account(account, where=f"account {account}")
        if acting_as:
            settings = dataclasses.replace(settings, from_email=acting_as)
        if target.sandbox:
            return self._sandbox_session(settings, account)
        if target.base_url:
            from runner.config import check_url

            base_url = check_url(target.base_url, where="--base-url")
            settings = dataclasses.replace(settings, base_url=base_url)
        token, source = read_token(settings, self.environ, account=account)
        return connect(settings, account_name=account, token=token, token_source=source, sleep=self.sleep)

    def _one(self, config: pdconfig.Config, target: Target) -> list[str]:
        if target.several:
            raise UsageError("this command runs on one account at a time: give --account once")
        return self.accounts(config, target)

    def _sandbox_session(self, settings: pdconfig.PagerDutyConfig, account: str) -> Session:
        import httpx2

        from runner.sandbox import SANDBOX_BASE_URL, SANDBOX_TOKEN, demo_app
        from runner.sandbox.demo import DEMO_FROM_EMAIL
        from runner.session import connect

        app = self.sandbox_app() if self.sandbox_app else demo_app(None if account == DEFAULT_ACCOUNT else account)
        settings = dataclasses.replace(settings, from_email=settings.from_email or DEMO_FROM_EMAIL)
        return connect(settings, account_name=account, token=SANDBOX_TOKEN, token_source="the sandbox",
                       url=SANDBOX_BASE_URL, transport=httpx2.WSGITransport(app=app), sleep=self.sleep,
                       now=lambda: app.account.now)

    def history(self, config: pdconfig.Config) -> History:
        """Open the run history the configuration names (migrated, pruned, orphans marked).

        `[runner] state_env` names a variable holding its URL (one with a
        password belongs in a secret), which wins over `[runner] state`.
        """
        from runner.history import open_history

        state, name = config.runner.state, config.runner.state_env
        if name:
            state = self.environ.get(name, "").strip()
            if not state:
                raise ConfigError(f"{config.source}: [runner] state_env: the environment variable {name}"
                                  " (the run history's URL) is not set")
        return open_history(state, keep_runs_days=config.runner.keep_runs_days, environ=self.environ)

    @contextlib.contextmanager
    def open(self, config: pdconfig.Config, target: Target, *, history: bool = True,
             writing: Sequence[Recipe] = (), acting_as: str | None = None) -> Iterator[Launch]:
        """Open the session and history for runs against the one account of `target`; close both when done."""
        self._one(config, target)
        with self.open_each(config, target, history=history, writing=writing, acting_as=acting_as) as (launch,):
            yield launch

    @contextlib.contextmanager
    def open_each(self, config: pdconfig.Config, target: Target, *, history: bool = True,
                  writing: Sequence[Recipe] = (), acting_as: str | None = None) -> Iterator[list[Launch]]:
        """Open a session per account of `target`, and one history they share; close them all when the block ends.

        `writing` lists the write recipes about to run: each needs the email
        of the user it acts as in every account (or `acting_as`), checked before anything is opened.
        """
        names = self.accounts(config, target)
        if not acting_as:
            for name in names:
                for recipe in writing:
                    require_writer(config, recipe, name, sandbox=target.sandbox)
        with contextlib.ExitStack() as opened:
            sessions = []
            for name in names:
                sessions.append(self.session(config, target, name, acting_as=acting_as))
                opened.callback(sessions[-1].close)
            store = self.history(config) if history else None
            if store is not None:
                opened.callback(store.close)
            yield [Launch(self, config, session, store) for session in sessions]


def require_writer(config: pdconfig.Config, recipe: Recipe, account: str, *, sandbox: bool = False) -> None:
    """Refuse a write recipe on an account without the email of the user it acts as (the sandbox has one)."""
    if not recipe.writes or sandbox or config.account(account, where=f"account {account}").from_email:
        return
    from runner.config import account_table

    table = account_table(account)
    raise UsageError(
        f"{recipe.name} writes to PagerDuty, which needs the email of the user acting: "
        + (f"set from_email in {table} of {config.path}" if config.path else
           f"set from_email in {table} of a config.toml (none was found: give --config PATH,"
           " set $PDRUN_CONFIG, or create ./config.toml)")
    )


@dataclass
class Launch:
    """An open session and history, and runs started on them."""

    launcher: Launcher
    config: pdconfig.Config
    session: Session
    history: History | None

    def run(self, recipe: Recipe, params: Mapping[str, Any], *, policy: WritePolicy, trigger: str = "cli",
            sinks: Sequence[str] = (), **options: Any) -> RunResult:
        """Run `recipe` through run_recipe, recorded in this launch's history, delivered to `sinks`."""
        from runner.run import run_recipe
        from runner.sinks import SinkContext, bind_sinks

        bound = bind_sinks(sinks, self.config, self.launcher.registry().sinks)
        return run_recipe(recipe, session=self.session, params=params, policy=policy, trigger=trigger,
                          history=self.history, sinks=bound, sink_context=SinkContext(self.session,
                                                                                     self.launcher.environ),
                          **options)

"""pytest plugin for recipe authors: a sandbox account, a session bound to it, and a runner.

Installed with pdrun through the ``pytest11`` entry point, so a recipe
package's tests can use these fixtures with no set-up:

- ``pd_account``: the sandbox account (the demo profile); shape it with its ``add_*`` methods.
- ``pd_sandbox``: the sandbox WSGI app serving ``pd_account``; ``pd_sandbox.exchanges`` logs every request.
- ``pd_session``: a pdrun session bound to ``pd_sandbox``, acting as the account's admin for writes.
- ``pd_run``: ``pd_run("recipe-name", **params)`` runs a recipe and returns its RunResult.
- ``pd_logs``: the structured log events emitted during the test, as dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog

from runner.config import PagerDutyConfig
from runner.plugins import load_registry
from runner.recipe import Recipe, RunResult
from runner.run import run_recipe
from runner.sandbox import Account, SandboxApp, demo_account
from runner.sandbox.demo import DEMO_FROM_EMAIL
from runner.session import Session, open_session


@pytest.fixture
def pd_account() -> Account:
    """A fresh demo sandbox account for this test."""
    return demo_account()


@pytest.fixture
def pd_sandbox(pd_account: Account) -> SandboxApp:
    """The sandbox app serving `pd_account`."""
    return SandboxApp(pd_account)


@pytest.fixture
def pd_session(pd_sandbox: SandboxApp) -> Iterator[Session]:
    """A pdrun session bound to the sandbox, writing as the account's admin."""
    session = open_session(PagerDutyConfig(from_email=DEMO_FROM_EMAIL), environ={}, sandbox=pd_sandbox)
    yield session
    session.close()


@pytest.fixture
def pd_run(pd_session: Session) -> Callable[..., RunResult]:
    """Run a recipe (a name or a Recipe) on the sandbox: ``pd_run("name", dry_run=False, **params)``.

    Parameters are checked as config.toml values are: a repeatable one takes a list.
    """
    registry = load_registry()

    def run(recipe: str | Recipe, *, dry_run: bool = False, **params: Any) -> RunResult:
        chosen = registry.get(recipe) if isinstance(recipe, str) else recipe
        resolved = chosen.resolve_params({}, chosen.check_defaults(params, source="pd_run()"))
        return run_recipe(chosen, session=pd_session, params=resolved, dry_run=dry_run, trigger="test")

    return run


@pytest.fixture
def pd_logs() -> Iterator[list[dict[str, Any]]]:
    """Every structlog event of the test, as a list of dicts (event name under "event")."""
    with structlog.testing.capture_logs() as events:
        yield events

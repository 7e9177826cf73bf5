"""pytest plugin for recipe authors: a sandbox account, a session bound to it, and a runner.

Installed with pdrun through the ``pytest11`` entry point, so a recipe
package's tests can use these fixtures with no set-up:

- ``pd_account``: the sandbox account (the demo profile); shape it with its ``add_*`` methods.
  ``@pytest.mark.pd_profile("large", seed=1)`` (or a .toml/.json file, or ``now=``) picks another.
- ``pd_sandbox``: the sandbox WSGI app serving ``pd_account``; ``pd_sandbox.exchanges`` logs every request,
  ``pd_sandbox.faults = Faults(...)`` injects latency, rate limits and errors.
- ``pd_session``: a pdrun session bound to ``pd_sandbox``, acting as the account's admin for writes;
  it retries rate limits and errors without waiting.
- ``pd_run``: ``pd_run("recipe-name", **params)`` runs a recipe and returns its RunResult.
- ``pd_logs``: the structured log events emitted during the test, as dicts.
- ``pd_server``: ``pd_sandbox`` served over HTTP on 127.0.0.1; ``pd_server.url`` is its base URL.
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
from runner.sandbox import Account, SandboxApp, load_profile
from runner.sandbox.demo import DEMO_FROM_EMAIL
from runner.sandbox.server import SandboxServer, running
from runner.session import Session, open_session

PROFILE_MARKER = "pd_profile(name, seed=0, now=None): build pd_account from the demo, large or a .toml/.json profile"


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``pd_profile`` marker."""
    config.addinivalue_line("markers", PROFILE_MARKER)


@pytest.fixture
def pd_account(request: pytest.FixtureRequest) -> Account:
    """A fresh sandbox account for this test: the demo, or the profile of the ``pd_profile`` marker."""
    marker = request.node.get_closest_marker("pd_profile")
    if marker is None:
        return load_profile("demo")
    return load_profile(*marker.args, **marker.kwargs)


@pytest.fixture
def pd_sandbox(pd_account: Account) -> SandboxApp:
    """The sandbox app serving `pd_account`."""
    return SandboxApp(pd_account)


def _no_wait(seconds: float) -> None:
    """Skip the waits of the session's retries: tests never wait on real time."""


@pytest.fixture
def pd_session(pd_sandbox: SandboxApp) -> Iterator[Session]:
    """A pdrun session bound to the sandbox, writing as the account's admin; its retries do not wait."""
    config = PagerDutyConfig(from_email=DEMO_FROM_EMAIL)
    session = open_session(config, environ={}, sandbox=pd_sandbox, sleep=_no_wait)
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


@pytest.fixture
def pd_server(pd_sandbox: SandboxApp) -> Iterator[SandboxServer]:
    """`pd_sandbox` served over HTTP on 127.0.0.1 (a free port) for the test; `.url` is its base URL."""
    with running(pd_sandbox) as server:
        yield server

"""pytest plugin for recipe authors: a sandbox account, a session bound to it, and runners.

Installed with pdrun through the ``pytest11`` entry point, so a recipe
package's tests can use these fixtures with no set-up (docs/plugins.md
documents each, with its arguments):

- ``pd_account``: the sandbox account (the demo profile); shape it with its ``add_*`` methods.
  ``@pytest.mark.pd_profile("large", seed=1)`` (or a .toml/.json file, or ``now=``) picks another.
- ``pd_sandbox``: the sandbox WSGI app serving ``pd_account``; ``pd_sandbox.exchanges`` logs every request,
  ``pd_sandbox.faults = Faults(...)`` injects latency, rate limits and errors.
- ``pd_session``: a pdrun session bound to ``pd_sandbox``, to read what a run left (its writes are
  refused, as every write outside pdrun's writer is); it retries rate limits and errors without waiting.
- ``pd_run``: ``pd_run(recipe, **params)`` runs a recipe (with only the plugins named) on ``pd_sandbox``
  and returns its RunResult; the recipe's own exception is raised again.
- ``pd_cli``: ``pd_cli("audit", "--sandbox", "--format", "json")`` runs the ``pdrun`` command in process,
  ``--sandbox`` meaning ``pd_sandbox``, and returns its exit code, stdout and stderr.
- ``pd_logs``: the structured log events emitted during the test, as dicts.
- ``pd_server``: ``pd_sandbox`` served over HTTP on 127.0.0.1; ``pd_server.url`` is its base URL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import structlog

from runner import log as pdlog
from runner.config import Config
from runner.launch import Consent, Launcher, Target
from runner.plugins import PluginError, load_registry
from runner.recipe import Recipe
from runner.results import RunResult
from runner.sandbox import Account, SandboxApp, load_profile
from runner.sandbox.server import SandboxServer, running
from runner.session import Session

PROFILE_MARKER = (
    "pd_profile(name_or_path='demo', *, seed=0, now=None, clock=time.monotonic, subdomain=None, scale=1.0):"
    " build pd_account from the demo, large or a .toml/.json profile (runner.sandbox.load_profile)"
)


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``pd_profile`` marker, and route structlog through the stdlib as pdrun does."""
    config.addinivalue_line("markers", PROFILE_MARKER)
    pdlog.setup()


@pytest.fixture
def pd_account(request: pytest.FixtureRequest) -> Account:
    """A fresh sandbox account for this test: the demo, or the profile of the ``pd_profile`` marker."""
    marker = request.node.get_closest_marker("pd_profile")
    if marker is None:
        return load_profile("demo")
    return load_profile(*(marker.args or ("demo",)), **marker.kwargs)


@pytest.fixture
def pd_sandbox(pd_account: Account) -> SandboxApp:
    """The sandbox app serving `pd_account`."""
    return SandboxApp(pd_account)


def _no_wait(seconds: float) -> None:
    """Skip the waits of the session's retries: tests never wait on real time."""


def _launcher(sandbox: SandboxApp, **options: Any) -> Launcher:
    return Launcher(environ={}, sandbox_app=lambda: sandbox, sleep=_no_wait, **options)


@pytest.fixture
def pd_session(pd_sandbox: SandboxApp) -> Iterator[Session]:
    """A pdrun session bound to the sandbox, for reads (writes go through recipes); its retries do not wait."""
    session = _launcher(pd_sandbox).session(Config(), Target(sandbox=True))
    yield session
    session.close()


class PdRun:
    """What ``pd_run`` is: runs recipes on the test's sandbox account."""

    def __init__(self, sandbox: SandboxApp) -> None:
        self._sandbox = sandbox

    def __call__(self, recipe: str | Recipe, *, dry_run: bool = False, plugins: Iterable[Any] = (),
                 raises: bool = True, **params: Any) -> RunResult:
        """Run `recipe` on the sandbox and return its RunResult.

        `recipe` is a Recipe, or the name of a built-in recipe or of one the
        `plugins` (modules with pdrun hooks) register: no other installed
        plugin is loaded. Parameters are checked as config.toml values are (a
        repeatable one takes a list). Writes are confirmed, within the default
        cap. `ctx.now` is the account's clock. If the recipe raises anything
        but pdrun's own errors (RecipeError, an API error...), so does this
        call, unless `raises=False` (then the result says it failed). A
        plugin pdrun would mark broken, or a recipe whose name another has,
        raises PluginError with the line `pdrun plugins` would show.
        """
        registry = load_registry(entry_points=[], plugins=[(getattr(p, "__name__", repr(p)), p) for p in plugins])
        if registry.broken:  # pdrun would leave it out: the test must not pass on what would never run
            broken = registry.broken[0]
            raise PluginError(f"plugin {broken.name!r} is broken, as pdrun plugins would show it: {broken.error}")
        chosen = registry.get(recipe) if isinstance(recipe, str) else recipe
        taken = registry.recipes.get(chosen.name) or registry.commands.get(chosen.name)
        if taken is not None and getattr(taken, "func", None) is not chosen.func:
            owner = getattr(taken, "plugin", "") or registry.owner(chosen.name)
            raise PluginError(f"recipe {chosen.name!r} is already registered by {owner!r}: pdrun would mark"
                              " its plugin broken and keep the other")
        launcher = _launcher(self._sandbox, _registry=registry)
        config = Config()
        resolved = launcher.params(config, chosen, configured=params, source="pd_run()")
        with launcher.open(config, Target(sandbox=True), history=False) as launch:
            result = launch.run(chosen, resolved, policy=launcher.policy(config, chosen, Consent(yes=True)),
                                trigger="test", dry_run=dry_run)
        if raises and result.exception is not None:
            raise result.exception
        return result


@pytest.fixture
def pd_run(pd_sandbox: SandboxApp) -> PdRun:
    """Run a recipe on the sandbox: ``pd_run(recipe, dry_run=False, plugins=(), raises=True, **params)``."""
    return PdRun(pd_sandbox)


@dataclass(frozen=True)
class CliResult:
    """What a `pd_cli` invocation printed, and how it exited."""

    exit_code: int
    stdout: str
    stderr: str


class PdCli:
    """What ``pd_cli`` is: the ``pdrun`` command, run in process against the test's sandbox."""

    def __init__(self, sandbox: SandboxApp, workdir: Path) -> None:
        self._sandbox = sandbox
        self._workdir = workdir

    def __call__(self, *args: str, environ: Mapping[str, str] | None = None) -> CliResult:
        """Run ``pdrun *args`` and return its exit code, stdout and stderr.

        `--sandbox` means `pd_sandbox`. The working directory is the test's
        tmp_path (so no config.toml unless the test writes one there), the
        history lives under it, and `environ` is the whole environment pdrun
        sees (none of the test process's). The plugins installed in this
        environment are loaded, as `pdrun` loads them. An exception pdrun
        would not turn into an exit code is raised again.
        """
        from click.testing import CliRunner

        from runner.cli import cli

        environ = {"XDG_STATE_HOME": str(self._workdir / "state"), **(environ or {})}
        launcher = Launcher(environ=environ, cwd=self._workdir, sandbox_app=lambda: self._sandbox, sleep=_no_wait)
        outcome = CliRunner().invoke(cli, list(args), obj=launcher, prog_name="pdrun")
        if outcome.exception is not None and not isinstance(outcome.exception, SystemExit):
            raise outcome.exception
        return CliResult(outcome.exit_code, outcome.stdout, outcome.stderr)


@pytest.fixture
def pd_cli(pd_sandbox: SandboxApp, tmp_path: Path) -> PdCli:
    """Run ``pdrun`` in process: ``pd_cli("my-recipe", "--sandbox", "--format", "json")``."""
    return PdCli(pd_sandbox, tmp_path)


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

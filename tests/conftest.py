from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from postgres import postgres_url  # noqa: F401  (a fixture for every test module)
from spec import check_exchanges

from runner.cli import cli
from runner.launch import Launcher

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def state_home(tmp_path, monkeypatch):
    """Keep every run history and cache of the test, in process or in a subprocess, under its tmp_path."""
    path = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return path


@pytest.fixture
def pd_sandbox(pd_sandbox):
    """The testing kit's sandbox, with every exchange of the test checked against PagerDuty's spec."""
    yield pd_sandbox
    check_exchanges(pd_sandbox.exchanges)


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A folder on sys.path where tests install plugin distributions (plugin_dist.make_plugin)."""
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    return path


@pytest.fixture
def workdir(tmp_path):
    """A working directory holding a copy of the repository's config.toml."""
    shutil.copy(REPO / "config.toml", tmp_path / "config.toml")
    return tmp_path


@pytest.fixture
def invoke(pd_sandbox, workdir, state_home):
    """Run the pdrun CLI in process, in `workdir`, with --sandbox bound to `pd_sandbox`."""

    def run(*args: str, environ: dict[str, str] | None = None):
        environ = {"XDG_STATE_HOME": str(state_home), **(environ or {})}
        env = Launcher(environ=environ, cwd=workdir, sandbox_app=lambda: pd_sandbox)
        return CliRunner().invoke(cli, list(args), obj=env)

    return run


@pytest.fixture(params=["sqlite", "postgresql"])
def history_url(request, tmp_path):
    """The URL of a new history on each database pdrun supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    return request.getfixturevalue("postgres_url")

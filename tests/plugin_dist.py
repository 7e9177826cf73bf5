"""Build installed-looking plugin distributions (a module plus its dist-info) for tests."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

_serial = itertools.count()


def make_plugin(site: Path, source: str, *, dist: str = "pdrun-example") -> str:
    """Write a plugin module and a dist-info declaring it in the `pdrun` group; return its module name."""
    module = f"pdrun_test_plugin_{next(_serial)}"
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    make_dist_info(site, dist, "1.0", {dist: module}, folder=f"{dist.replace('-', '_')}_{module}-1.0.dist-info")
    return module


def install_project(project: Path, site: Path) -> dict[str, str]:
    """Make `project` (a folder with a pyproject.toml) look installed, as `pip install -e` would leave it.

    Its dist-info, with the `pdrun` entry points its pyproject.toml declares, goes into `site`; put both
    folders on the path. Returns those entry points.
    """
    metadata = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    entry_points = metadata["entry-points"]["pdrun"]
    make_dist_info(site, metadata["name"], metadata["version"], entry_points)
    return entry_points


def run_project_tests(project: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """Run an installed-looking project's own pytest in a fresh process, from its folder (as its author would)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project), str(site)])}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, env=env,
                          capture_output=True, text=True)


def make_dist_info(site: Path, dist: str, version: str, entry_points: dict[str, str], *, folder: str = "") -> None:
    """Write a dist-info for `dist` declaring `entry_points` (name -> module) in the `pdrun` group."""
    info = site / (folder or f"{dist.replace('-', '_')}-{version}.dist-info")
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text("[pdrun]\n" + "".join(f"{n} = {m}\n" for n, m in entry_points.items()))


GOOD_PLUGIN = """
    from runner import hookimpl, recipe

    @recipe(tags=["hygiene"])
    def users_named_bob(ctx):
        \"\"\"Users called Bob.\"\"\"
        for user in ctx.pd.iter("users"):
            if user["name"].startswith("Bob"):
                yield ctx.finding(user, "a Bob")

    @hookimpl
    def pdrun_recipes(register):
        register(users_named_bob)
"""

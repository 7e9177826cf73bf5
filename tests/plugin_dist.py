"""Build installed-looking plugin distributions (a module plus its dist-info) for tests."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

_serial = itertools.count()


def make_plugin(site: Path, source: str, *, dist: str = "pdrun-example") -> str:
    """Write a plugin module and a dist-info declaring it in the `pdrun` group; return its module name."""
    module = f"pdrun_test_plugin_{next(_serial)}"
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}_{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[pdrun]\n{dist} = {module}\n")
    return module


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

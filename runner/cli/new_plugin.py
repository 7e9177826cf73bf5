"""`pdrun new-plugin NAME`: write a plugin package that works, and whose tests pass, as generated."""

from __future__ import annotations

import re
from pathlib import Path

import click

from runner import hookimpl
from runner.cli.options import current_launcher
from runner.errors import UsageError

NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


@click.command("new-plugin")
@click.argument("name")
def new_plugin(name: str) -> None:
    """Write a new plugin package in ./NAME: one audit recipe, its tests and a README.

    NAME is lowercase words joined by hyphens (acme-audits). The package is
    pdrun-NAME, its module pdrun_NAME (with underscores), and its entry point
    NAME. Install it with `pip install -e "./NAME[test]"`, then run its tests
    with pytest in ./NAME.
    """
    from string import Template

    from runner.cli.plugin_template import FILES

    if not NAME.fullmatch(name):
        raise UsageError(f"plugin name {name!r}: use lowercase letters, digits and single hyphens, e.g. acme-audits")
    short = name.removeprefix("pdrun-")
    root = current_launcher().cwd / name
    if root.exists():
        raise UsageError(f"{root} already exists: choose another NAME, or move it away")
    names = {"short": short, "dist": f"pdrun-{short}", "module": f"pdrun_{short.replace('-', '_')}",
             "recipe": f"{short}-services-without-description"}
    written = []
    for path, text in FILES.items():
        target = root / Template(path).substitute(names)
        _write(target, Template(text).substitute(names))
        written.append(str(target.relative_to(root)))
    click.echo(f"wrote {name}/: {', '.join(written)}")
    click.echo(f'next: pip install -e "./{name}[test]" && (cd {name} && pytest) && pdrun {names["recipe"]} --sandbox')


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


@hookimpl
def pdrun_commands(register):
    register(new_plugin)

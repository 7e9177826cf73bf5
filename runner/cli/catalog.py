"""`pdrun list`, `describe` and `plugins`: what is installed, and what each recipe does."""

from __future__ import annotations

import json

import click

from runner import hookimpl
from runner.cli.options import LISTING_FORMATS, current_launcher
from runner.plugins import DISABLE_ENV, NOT_INSTALLED
from runner.report import table


@click.command("list")
@click.option("--format", "fmt", type=click.Choice(LISTING_FORMATS), default="table", show_default=True)
def list_recipes(fmt: str) -> None:
    """List the recipes every plugin provides."""
    recipes = sorted(current_launcher().registry().recipes.values(), key=lambda r: r.name)
    if fmt == "json":
        rows = [
            {"name": r.name, "summary": r.summary, "kind": r.kind, "writes": [str(w) for w in r.writes],
             "tags": list(r.tags), "plugin": r.plugin}
            for r in recipes
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    rows = [(r.name, r.kind, ",".join(r.tags), r.summary) for r in recipes]
    click.echo(table(rows, ("recipe", "kind", "tags", "summary")))


@click.command()
@click.argument("name")
def describe(name: str) -> None:
    """Show what a recipe does, the parameters it takes, and the writes it may make."""
    from runner.cli.recipes import default_label, param_label

    recipe = current_launcher().registry().get(name)
    lines = [f"{recipe.name}: {recipe.summary}", ""]
    if recipe.description:
        lines += [recipe.description, ""]
    lines.append(f"plugin: {recipe.plugin}   kind: {recipe.kind}   tags: {', '.join(recipe.tags) or '-'}")
    if recipe.writes:
        lines.append("may write: " + ", ".join(str(rule) for rule in recipe.writes))
    if recipe.params:
        rows = [(p.flag, param_label(p), "(required)" if p.required else default_label(p) or "-", p.help)
                for p in recipe.params]
        lines += ["", "parameters:", table(rows, ("option", "type", "default", "help"))]
    if recipe.one_of:
        lines.append("needs at least one of: " + ", ".join(recipe.param(n).flag for n in recipe.one_of))
    lines += ["", f"Defaults may be set in config.toml under [recipes.{recipe.name}], keyed by parameter name."]
    click.echo("\n".join(lines))


@click.command()
def plugins() -> None:
    """List plugins, what each provides, and why any was left out."""
    registry = current_launcher().registry()
    rows = [
        (p.name, p.source, p.status, p.error or (f"left out by {DISABLE_ENV} or --disable-plugin" if p.disabled
                                                 else ", ".join((*p.recipes, *p.sinks, *p.commands))))
        for p in registry.plugins
    ]
    click.echo(table(rows, ("plugin", "source", "status", "provides / error")))
    for name in registry.not_installed:
        click.echo(f"pdrun: {name!r}: {NOT_INSTALLED}", err=True)


@hookimpl
def pdrun_commands(register):
    for command in (list_recipes, describe, plugins):
        register(command)

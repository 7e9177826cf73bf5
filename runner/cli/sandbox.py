"""`pdrun sandbox`: the built-in sandbox's commands, loaded only when used."""

from __future__ import annotations

import click

from runner import hookimpl


class SandboxGroup(click.Group):
    """The sandbox's own command group (runner.sandbox.command), imported when `pdrun sandbox` is run."""

    def _group(self) -> click.Group:
        from runner.sandbox.command import sandbox

        return sandbox

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._group().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._group().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> object:
        return self._group().invoke(ctx)


@click.group(cls=SandboxGroup)
def sandbox() -> None:
    """Run the built-in PagerDuty sandbox (see docs/sandbox.md)."""


@hookimpl
def pdrun_commands(register):
    register(sandbox)

"""The plugin contract: every hook pdrun calls (docs/plugins.md documents each with the rest of the plugin API).

Plugins implement hooks with ``@runner.hookimpl`` and are found through the
``pdrun`` entry-point group. Hooks are always called with keyword arguments,
and a hook's specification only ever gains arguments, so an implementation
may accept just the ones it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from runner.recipe import Recipe
    from runner.sinks import Sink

hookspec = pluggy.HookspecMarker("pdrun")


@hookspec
def pdrun_recipes(register: Callable[[Recipe], None]) -> None:
    """Register recipes by calling ``register(recipe)`` once for each.

    ``recipe`` is what the ``@runner.recipe`` decorator returns. A name that
    a built-in or an earlier plugin already registered marks this plugin
    broken, naming the other.
    """


@hookspec
def pdrun_sinks(register: Callable[[Sink], None]) -> None:
    """Register kinds of result sinks by calling ``register(sink)`` once for each.

    ``sink`` is a ``runner.sinks.Sink``: a name, a summary, declared options
    (``Param``s, checked against ``[sinks.<name>]`` tables), and
    ``deliver(result, options, context)``, called after every run that names
    the sink. ``deliver`` may raise; the failure is logged and recorded, and
    never fails the run.
    """


@hookspec
def pdrun_commands(register: Callable[[click.Command], None]) -> None:
    """Register CLI commands by calling ``register(command)`` once for each ``click.Command``.

    They appear in ``pdrun --help`` beside pdrun's own commands, which are
    registered through this same hook. A name another plugin's command or
    recipe already has marks the plugin broken. Import anything heavy inside
    the command's callback, not at module level: every ``pdrun`` invocation
    loads the plugins.
    """

"""pdrun: a plugin-based automation runner for PagerDuty.

The public plugin API lives here: decorate a function with ``@recipe``, read
through ``ctx.pd``, report with ``ctx.finding()``, write with ``ctx.write()``,
and register it from a ``@hookimpl`` of ``pdrun_recipes``.
"""

from __future__ import annotations

import pluggy

from runner.clock import parse_iso
from runner.context import Context
from runner.errors import RecipeError, UsageError
from runner.recipe import Finding, Param, recipe

hookimpl = pluggy.HookimplMarker("pdrun")

__all__ = ["Context", "Finding", "Param", "RecipeError", "UsageError", "hookimpl", "parse_iso", "recipe"]

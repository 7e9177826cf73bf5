"""pdrun: a plugin-based automation runner for PagerDuty.

The public plugin API lives here: decorate a function with ``@recipe``,
declare its parameters with ``Param``, read through ``ctx.pd``, report with
``ctx.finding()`` (or ``ctx.row()`` in a report), plan writes with
``ctx.write()``, and register it from a ``@hookimpl`` of ``pdrun_recipes``.
docs/plugins.md documents every name.
"""

from __future__ import annotations

import pluggy

from runner.context import Context
from runner.errors import RecipeError, UsageError
from runner.params import PAGERDUTY_ID, USER_ID_OR_EMAIL, Param, parse_moment
from runner.recipe import recipe
from runner.results import Finding, Row
from runner.timestamps import parse_iso

hookimpl = pluggy.HookimplMarker("pdrun")

__all__ = [
    "PAGERDUTY_ID", "USER_ID_OR_EMAIL", "Context", "Finding", "Param", "RecipeError", "Row", "UsageError", "hookimpl",
    "parse_iso", "parse_moment", "recipe",
]

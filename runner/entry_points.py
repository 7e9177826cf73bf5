"""Find the `pdrun` entry points of the installed distributions."""

from __future__ import annotations

import importlib.metadata

GROUP = "pdrun"


def pdrun_entry_points() -> list[importlib.metadata.EntryPoint]:
    """Every installed distribution's entry point in the `pdrun` group."""
    return list(importlib.metadata.entry_points(group=GROUP))

"""The pdrun command line: parses, then calls the library. Commands come from plugins; recipes become commands."""

from __future__ import annotations

from runner.cli.group import cli, main

__all__ = ["cli", "main"]

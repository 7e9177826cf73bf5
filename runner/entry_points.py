"""Find the `pdrun` entry points of the installed distributions, remembered until what is installed changes.

Reading every distribution's metadata (importlib.metadata) costs more than
the rest of `pdrun list` together, so the entry points found are kept in a
cache file with a stamp of what is installed: each folder of `sys.path`
with the name and modification time of each distribution's metadata in it
(`*.dist-info`, `*.egg-info`, `*.egg-link`, `*.pth`), and each zip file on it
with its modification time. Installing, upgrading or removing a distribution
changes the stamp, and the next call reads the metadata again. A folder's own
time is left out: any file written there (a report in the current folder,
which `python -m runner` puts on `sys.path`) would change it.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

GROUP = "pdrun"
METADATA = (".dist-info", ".egg-info", ".egg-link", ".pth")


class Distribution(NamedTuple):
    """The distribution an entry point comes from, as `pdrun plugins` names it."""

    name: str
    version: str


class EntryPoint(NamedTuple):
    """One `pdrun` entry point: `name = module:attr` of a distribution."""

    name: str
    value: str
    dist: Distribution | None = None

    def load(self) -> Any:
        """Import the module the entry point names and return the object it points at."""
        module, _, attrs = self.value.partition(":")
        found: Any = importlib.import_module(module.strip())
        for attr in filter(None, attrs.strip().split(".")):
            found = getattr(found, attr)
        return found


def pdrun_entry_points(environ: Mapping[str, str] = os.environ) -> list[EntryPoint]:
    """Every installed distribution's entry point in the `pdrun` group, from the cache while it holds."""
    stamp = _stamp()
    cache = _cache_file(environ)
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached["stamp"] == stamp:
            return [EntryPoint(name, value, Distribution(*dist) if dist else None)
                    for name, value, dist in cached["entry_points"]]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no cache yet, or one this pdrun cannot read: read the metadata
    found = _read_metadata()
    rows = [[ep.name, ep.value, [ep.dist.name, ep.dist.version] if ep.dist else None] for ep in found]
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps({"stamp": stamp, "entry_points": rows}), encoding="utf-8")
        partial.replace(cache)
    except OSError:
        pass  # a cache that cannot be written costs time, never correctness
    return found


def _read_metadata() -> list[EntryPoint]:
    import importlib.metadata

    return [
        EntryPoint(ep.name, ep.value, Distribution(ep.dist.name, ep.dist.version) if ep.dist else None)
        for ep in importlib.metadata.entry_points(group=GROUP)
    ]


def _stamp() -> list[list[Any]]:
    """What is installed where Python looks: each `sys.path` entry and the distribution metadata in it."""
    stamp: list[list[Any]] = []
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as found:
                metadata = sorted(
                    [item.name, item.stat().st_mtime_ns] for item in found if item.name.endswith(METADATA)
                )
            stamp.append([entry, metadata])
        except OSError:  # a zip file, or a folder that does not exist
            stamp.append([entry, _mtime(entry)])
    return stamp


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _cache_file(environ: Mapping[str, str]) -> Path:
    """The cache of this Python environment, under $XDG_CACHE_HOME/pdrun (default ~/.cache/pdrun)."""
    home = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    python = zlib.crc32(f"{sys.prefix}\0{sys.version}".encode())
    return Path(home) / "pdrun" / f"entry-points-{python:08x}.json"

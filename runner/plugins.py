"""Find plugins, load each in isolation, and collect the recipes they register."""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pluggy

from runner import hookspecs
from runner.errors import UsageError
from runner.recipe import Recipe

if TYPE_CHECKING:
    from runner.config import Config

ENTRY_POINT_GROUP = "pdrun"
DEFAULT_PLUGINS = (
    "recipes.services_without_teams",
    "recipes.incident_note",
    "recipes.status_update",
)


class PluginError(UsageError):
    """A plugin breaks the contract in a way that must not pass silently."""


@dataclass(frozen=True, kw_only=True)
class PluginInfo:
    """What `pdrun plugins` shows about one plugin."""

    name: str
    source: str
    recipes: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Registry:
    """Every recipe by name, and the plugins they came from."""

    recipes: dict[str, Recipe] = field(default_factory=dict)
    plugins: list[PluginInfo] = field(default_factory=list)

    @property
    def broken(self) -> list[PluginInfo]:
        return [p for p in self.plugins if not p.ok]

    def configured_defaults(self, config: Config) -> dict[str, dict[str, Any]]:
        """Check every `[recipes.<name>]` table of `config`; return the checked defaults by recipe."""
        checked = {}
        for name, table in config.recipes.items():
            where = f"{config.source}: [recipes.{name}]"
            if name not in self.recipes:
                raise UsageError(f"{where}: unknown recipe{suggest(name, self.recipes)}")
            checked[name] = self.recipes[name].check_defaults(table, source=where)
        return checked

    def get(self, name: str) -> Recipe:
        """Return the recipe called `name`, or raise UsageError suggesting close names."""
        try:
            return self.recipes[name]
        except KeyError:
            raise UsageError(f"unknown recipe {name!r}{suggest(name, self.recipes)}") from None


def suggest(name: str, known: Iterable[str]) -> str:
    """Return a ' (did you mean …?)' hint for a misspelled name, or ''."""
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def load_registry(entry_points: Iterable[importlib.metadata.EntryPoint] | None = None) -> Registry:
    """Load the built-in plugins and every `pdrun` entry point, isolating broken ones."""
    pm = pluggy.PluginManager("pdrun")
    pm.add_hookspecs(hookspecs)
    registry = Registry()
    sources: dict[str, str] = {}
    for module_name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
        sources[module_name] = "built-in"
    if entry_points is None:
        entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    for ep in entry_points:
        source = f"{ep.dist.name} {ep.dist.version}" if ep.dist else ep.value
        try:
            plugin = ep.load()
        except Exception as exc:  # any import-time failure of third-party code
            registry.plugins.append(PluginInfo(name=ep.name, source=source, error=_describe(exc)))
            continue
        if pm.is_registered(plugin) or pm.has_plugin(ep.name):
            registry.plugins.append(
                PluginInfo(name=ep.name, source=source, error="registered twice (duplicate entry point)")
            )
            continue
        pm.register(plugin, name=ep.name)
        sources[ep.name] = source
        _check_hooks(pm, ep.name, plugin)
    for impl in pm.hook.pdrun_recipes.get_hookimpls():
        registry.plugins.append(_collect(impl, sources[impl.plugin_name], registry))
    registry.plugins.sort(key=lambda p: (p.source != "built-in", p.name))
    return registry


def _check_hooks(pm: pluggy.PluginManager, name: str, plugin: object) -> None:
    """Fail loudly on a hook implementation that matches no specification (a misspelled hook)."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError:
        hooks = [
            caller.name
            for caller in pm.get_hookcallers(plugin) or ()
            if caller.spec is None
        ]
        known = [n for n in dir(hookspecs) if n.startswith("pdrun_")]
        hints = "; ".join(f"{h!r}{suggest(h, known)}" for h in hooks)
        raise PluginError(f"plugin {name!r} implements hooks pdrun does not have: {hints}") from None


def _collect(impl: pluggy.HookImpl, source: str, registry: Registry) -> PluginInfo:
    names: list[str] = []

    def register(recipe: Recipe) -> None:
        if not isinstance(recipe, Recipe):
            raise TypeError(f"register() takes a recipe made with @runner.recipe, not {type(recipe).__name__}")
        existing = registry.recipes.get(recipe.name)
        if existing is not None:
            raise PluginError(
                f"recipe {recipe.name!r} is registered by two plugins: {existing.plugin!r} and {impl.plugin_name!r}"
            )
        registry.recipes[recipe.name] = replace(recipe, plugin=impl.plugin_name)
        names.append(recipe.name)

    try:
        impl.function(**{"register": register} if "register" in impl.argnames else {})
    except PluginError:
        raise
    except Exception as exc:
        if source == "built-in":
            raise
        for name in names:
            del registry.recipes[name]
        return PluginInfo(name=impl.plugin_name, source=source, error=_describe(exc))
    return PluginInfo(name=impl.plugin_name, source=source, recipes=tuple(names))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


"""Find plugins, load each in isolation, and collect the recipes they register."""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pluggy

from runner import hookspecs
from runner.errors import UsageError, suggest
from runner.recipe import Recipe
from runner.sinks import Sink

# hook -> (Registry attribute, the type its register() takes)
HOOKS = (("pdrun_recipes", "recipes", Recipe), ("pdrun_sinks", "sinks", Sink))

if TYPE_CHECKING:
    from runner.config import Config

ENTRY_POINT_GROUP = "pdrun"
DEFAULT_PLUGINS = (
    "recipes.services",
    "recipes.escalation_policies",
    "recipes.schedules",
    "recipes.users",
    "recipes.incidents",
    "recipes.incident_note",
    "recipes.status_update",
    "recipes.incident_actions",
    "runner.builtin_sinks",
)


class PluginError(UsageError):
    """A plugin breaks the contract in a way that must not pass silently."""


@dataclass(frozen=True, kw_only=True)
class PluginInfo:
    """What `pdrun plugins` shows about one plugin."""

    name: str
    source: str
    recipes: tuple[str, ...] = ()
    sinks: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Registry:
    """Every recipe by name, and the plugins they came from."""

    recipes: dict[str, Recipe] = field(default_factory=dict)
    sinks: dict[str, Sink] = field(default_factory=dict)
    plugins: list[PluginInfo] = field(default_factory=list)

    @property
    def broken(self) -> list[PluginInfo]:
        return [p for p in self.plugins if not p.ok]

    def configured_defaults(self, config: Config) -> dict[str, dict[str, Any]]:
        """Check every `[recipes.<name>]` table of `config`; return the checked parameter defaults by recipe.

        A table may also hold `max_writes`, the recipe's cap on changed objects per run.
        """
        checked = {}
        for name, table in config.recipes.items():
            where = f"{config.source}: [recipes.{name}]"
            if name not in self.recipes:
                raise UsageError(f"{where}: unknown recipe{suggest(name, self.recipes)}")
            cap = table.get("max_writes", 0)
            if not isinstance(cap, int) or isinstance(cap, bool) or cap < 0:
                raise UsageError(f"{where} max_writes: expected a whole number >= 0, got {cap!r}")
            params = {k: v for k, v in table.items() if k != "max_writes"}
            checked[name] = self.recipes[name].check_defaults(params, source=where)
        return checked

    def get(self, name: str) -> Recipe:
        """Return the recipe called `name`, or raise UsageError suggesting close names."""
        try:
            return self.recipes[name]
        except KeyError:
            raise UsageError(f"unknown recipe {name!r}{suggest(name, self.recipes)}") from None


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
    for name in sources:
        registry.plugins.append(_collect(pm, name, sources[name], registry))
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


def _collect(pm: pluggy.PluginManager, plugin_name: str, source: str, registry: Registry) -> PluginInfo:
    """Call one plugin's registration hooks; a third-party plugin that raises is skipped whole."""
    provided: dict[str, list[str]] = {attr: [] for _, attr, _ in HOOKS}
    try:
        for hook, attr, kind in HOOKS:
            register = _registrar(getattr(registry, attr), kind, plugin_name, provided[attr])
            for impl in getattr(pm.hook, hook).get_hookimpls():
                if impl.plugin_name == plugin_name:
                    impl.function(**{"register": register} if "register" in impl.argnames else {})
    except PluginError:
        raise
    except Exception as exc:
        if source == "built-in":
            raise
        for attr, names in provided.items():
            for name in names:
                del getattr(registry, attr)[name]
        return PluginInfo(name=plugin_name, source=source, error=_describe(exc))
    return PluginInfo(name=plugin_name, source=source, **{attr: tuple(names) for attr, names in provided.items()})


def _registrar(
    table: dict[str, Any], kind: type, plugin_name: str, names: list[str]
) -> Callable[[Any], None]:
    label = kind.__name__.lower()

    def register(item: Any) -> None:
        if not isinstance(item, kind):
            raise TypeError(f"register() takes a {label}, not {type(item).__name__}")
        existing = table.get(item.name)
        if existing is not None:
            raise PluginError(
                f"{label} {item.name!r} is registered by two plugins: {existing.plugin!r} and {plugin_name!r}"
            )
        table[item.name] = replace(item, plugin=plugin_name)
        names.append(item.name)

    return register


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


"""Find plugins, load each in isolation, and collect the recipes, sinks and commands they register.

A third-party plugin that breaks the contract (it fails to import, misnames
a hook, registers a name another plugin has, or hands register() something
else) is marked broken with one line saying why, and everything it
registered is left out; every other plugin keeps working. Built-in plugins
are held to the same contract, and a break there is a bug that raises.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pluggy

from runner import hookspecs
from runner.errors import PLUGIN_FAILURES, UsageError, suggest
from runner.recipe import Recipe
from runner.sinks import Sink

if TYPE_CHECKING:
    import importlib.metadata

    import click

    from runner.config import Config

DISABLE_ENV = "PDRUN_DISABLE_PLUGINS"
NOT_INSTALLED = (f"no installed plugin has this name, so {DISABLE_ENV} or --disable-plugin leaves nothing out"
                 " (pdrun's built-in recipes cannot be left out)")
DEFAULT_PLUGINS = (
    "recipes.services",
    "recipes.escalation_policies",
    "recipes.schedules",
    "recipes.users",
    "recipes.incidents",
    "recipes.incident_note",
    "recipes.status_update",
    "recipes.incident_actions",
    "recipes.user_offboard",
    "recipes.overrides",
    "recipes.maintenance",
    "recipes.webhooks",
    "recipes.licenses",
    "recipes.paging",
    "recipes.noise",
    "recipes.oncall_hours",
    "recipes.notifications_report",
    "recipes.changes_digest",
    "recipes.routing_keys",
    "runner.builtin_sinks",
    "runner.cli.catalog",
    "runner.cli.audit",
    "runner.cli.apply",
    "runner.cli.serve",
    "runner.cli.schedules",
    "runner.cli.history",
    "runner.cli.report",
    "runner.cli.sandbox",
    "runner.cli.new_plugin",
)
HOOKS = {name for name in dir(hookspecs) if name.startswith("pdrun_")}


class PluginError(UsageError):
    """A plugin breaks the contract; for a third-party plugin this marks it broken."""


@dataclass(frozen=True, kw_only=True)
class PluginInfo:
    """What `pdrun plugins` shows about one plugin."""

    name: str
    source: str
    recipes: tuple[str, ...] = ()
    sinks: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    error: str | None = None
    disabled: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and not self.disabled

    @property
    def status(self) -> str:
        return "disabled" if self.disabled else "ok" if self.ok else "broken"


@dataclass
class Registry:
    """Every recipe, sink and command by name, and the plugins they came from."""

    recipes: dict[str, Recipe] = field(default_factory=dict)
    sinks: dict[str, Sink] = field(default_factory=dict)
    commands: dict[str, click.Command] = field(default_factory=dict)
    plugins: list[PluginInfo] = field(default_factory=list)
    not_installed: tuple[str, ...] = ()  # names given to leave out that no installed plugin has

    @property
    def broken(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.error is not None]

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
            if not isinstance(cap, int) or isinstance(cap, bool) or not 0 <= cap <= 1_000_000:
                raise UsageError(f"{where} max_writes: expected a whole number from 0 to 1000000, got {cap!r}")
            params = {k: v for k, v in table.items() if k != "max_writes"}
            checked[name] = self.recipes[name].configured(params, source=where)
        return checked

    def owner(self, name: str) -> str:
        """The plugin that registered the recipe or command `name` (pdrun's CLI registers its own commands)."""
        return next((p.name for p in self.plugins if name in (*p.recipes, *p.commands)), "a built-in command")

    def get(self, name: str) -> Recipe:
        """Return the recipe called `name`, or raise UsageError suggesting close names."""
        try:
            return self.recipes[name]
        except KeyError:
            raise UsageError(f"unknown recipe {name!r}{suggest(name, self.recipes)}") from None


def load_registry(
    entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
    *,
    reserved_params: frozenset[str] = frozenset(),
    environ: Mapping[str, str] | None = None,
    disabled: Iterable[str] = (),
    plugins: Iterable[tuple[str, object]] = (),
) -> Registry:
    """Load the built-in plugins, `plugins` (name, module) and every `pdrun` entry point, leaving out
    broken and disabled ones.

    `entry_points` stands in for the installed ones (`[]`: none);
    `reserved_params` are option names no recipe parameter may take;
    `disabled` (and $PDRUN_DISABLE_PLUGINS, comma-separated) names
    third-party plugins to leave out.
    """
    environ = os.environ if environ is None else environ
    off = {*disabled, *(n.strip() for n in environ.get(DISABLE_ENV, "").split(",") if n.strip())}
    pm = pluggy.PluginManager("pdrun")
    pm.add_hookspecs(hookspecs)
    registry = Registry()
    for module_name in DEFAULT_PLUGINS:
        _admit(pm, registry, module_name, "built-in", importlib.import_module(module_name), reserved_params)
    for name, plugin in plugins:
        _admit(pm, registry, name, "given", plugin, reserved_params)
    if entry_points is None:
        from runner.entry_points import pdrun_entry_points

        entry_points = pdrun_entry_points()
    for ep in entry_points:
        source = f"{ep.dist.name} {ep.dist.version}" if ep.dist else ep.value
        if ep.name in off:
            registry.plugins.append(PluginInfo(name=ep.name, source=source, disabled=True))
            continue
        try:
            plugin = ep.load()
        except PLUGIN_FAILURES as exc:  # any import-time failure of third-party code
            registry.plugins.append(PluginInfo(name=ep.name, source=source, error=_describe(exc)))
            continue
        if pm.is_registered(plugin) or pm.has_plugin(ep.name):
            registry.plugins.append(PluginInfo(name=ep.name, source=source, error="registered twice (duplicate entry point)"))
            continue
        _admit(pm, registry, ep.name, source, plugin, reserved_params)
    registry.plugins.sort(key=lambda p: (p.source != "built-in", p.name))
    registry.not_installed = tuple(sorted(off - {p.name for p in registry.plugins if p.disabled}))
    return registry


def _admit(pm: pluggy.PluginManager, registry: Registry, name: str, source: str, plugin: object,
           reserved: frozenset[str]) -> None:
    """Register one plugin and collect what it provides, or mark it broken and leave all of it out."""
    provided: dict[str, list[str]] = {"recipes": [], "sinks": [], "commands": []}
    try:
        _check_hooks(plugin)
        pm.register(plugin, name=name)
        for hook, attr in (("pdrun_recipes", "recipes"), ("pdrun_sinks", "sinks"), ("pdrun_commands", "commands")):
            register = _registrar(registry, attr, name, provided[attr], reserved)
            for impl in getattr(pm.hook, hook).get_hookimpls():
                if impl.plugin_name == name:
                    impl.function(**{"register": register} if "register" in impl.argnames else {})
    except PLUGIN_FAILURES as exc:
        if source == "built-in":
            raise
        for attr, names in provided.items():
            for item in names:
                del getattr(registry, attr)[item]
        if pm.is_registered(plugin):
            pm.unregister(plugin)
        registry.plugins.append(PluginInfo(name=name, source=source, error=_describe(exc)))
        return
    registry.plugins.append(PluginInfo(name=name, source=source, **{k: tuple(v) for k, v in provided.items()}))


def _check_hooks(plugin: object) -> None:
    """Refuse hooks pdrun does not have, `pdrun_*` functions left undecorated, and a plugin with no hook."""
    functions = {n: f for n, f in vars(plugin).items() if callable(f)} if inspect.ismodule(plugin) else {}
    hooks = [n for n in dir(plugin) if hasattr(getattr(plugin, n, None), "pdrun_impl")]
    unknown = [h for h in hooks if h not in HOOKS]
    if unknown:
        hints = "; ".join(f"{h!r}{suggest(h, sorted(HOOKS), most=1)}" for h in unknown)
        raise PluginError(f"implements hooks pdrun does not have: {hints}")
    bare = [n for n, f in functions.items() if n in HOOKS and not hasattr(f, "pdrun_impl")]
    if bare:
        raise PluginError(f"defines {', '.join(bare)} without @hookimpl, so pdrun never calls it")
    if not hooks:
        raise PluginError(f"implements no pdrun hook (expected one of {', '.join(sorted(HOOKS))}, with @hookimpl)")
    for hook in hooks:
        passed = inspect.signature(getattr(hookspecs, hook)).parameters
        asked = [p.name for p in inspect.signature(getattr(plugin, hook)).parameters.values()
                 if p.name not in passed and p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if asked:
            raise PluginError(f"{hook}() takes {', '.join(asked)}, which pdrun does not pass"
                              f" (it passes: {', '.join(passed)})")


# How a plain function becomes what register() takes, for the hint when it is handed one.
DECORATORS = {"recipes": "@runner.recipe", "commands": "@click.command()"}
KINDS: dict[str, Callable[[], type]] = {
    "recipes": lambda: Recipe,
    "sinks": lambda: Sink,
    "commands": lambda: importlib.import_module("click").Command,
}


def _registrar(registry: Registry, attr: str, plugin_name: str, names: list[str],
               reserved: frozenset[str]) -> Callable[[Any], None]:
    table: dict[str, Any] = getattr(registry, attr)
    kind = KINDS[attr]()
    label = attr.removesuffix("s")

    def register(item: Any) -> None:
        if not isinstance(item, kind):
            what = getattr(item, "__name__", type(item).__name__)
            hint = f" (decorate {what} with {DECORATORS[attr]})" if attr in DECORATORS and callable(item) else ""
            raise PluginError(f"register() in pdrun_{attr} takes a {kind.__name__}, not {what!r}{hint}")
        taken = table.get(item.name) or (registry.recipes.get(item.name) if attr == "commands" else None) or (
            registry.commands.get(item.name) if attr == "recipes" else None)
        if taken is not None:
            owner = getattr(taken, "plugin", None) or registry.owner(item.name)
            raise PluginError(f"{label} {item.name!r} is already registered by {owner!r}")
        if attr == "recipes":
            clashes = sorted(reserved.intersection(p.name for p in item.params))
            if clashes:
                raise PluginError(f"recipe {item.name!r}: parameter names reserved by pdrun's run options: {clashes}")
            item = replace(item, plugin=plugin_name)
        elif attr == "sinks":
            item = replace(item, plugin=plugin_name)
        table[item.name] = item
        names.append(item.name)

    return register


def _describe(exc: BaseException) -> str:
    """Say what went wrong in one line, as `pdrun plugins` shows it."""
    text = str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())

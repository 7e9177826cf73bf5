from __future__ import annotations

from plugin_dist import GOOD_PLUGIN, make_plugin

from runner.plugins import DEFAULT_PLUGINS, load_registry


def test_builtin_recipes_register_through_the_hook():
    registry = load_registry(entry_points=[])
    assert {"services-without-teams", "incident-note", "status-update"} <= set(registry.recipes)
    assert {"log", "events", "webhook"} <= set(registry.sinks)
    providers = {r.plugin for r in registry.recipes.values()} | {s.plugin for s in registry.sinks.values()}
    providers |= {p.name for p in registry.plugins if p.commands}
    assert providers == set(DEFAULT_PLUGINS)
    assert {"audit", "apply", "serve", "history", "sandbox", "list"} <= set(registry.commands)
    assert all(p.ok and p.source == "built-in" for p in registry.plugins)


def test_entry_point_plugin_is_loaded(site):
    make_plugin(site, GOOD_PLUGIN, dist="pdrun-bobs")
    registry = load_registry()
    recipe = registry.get("users-named-bob")
    assert recipe.summary == "Users called Bob."
    info = next(p for p in registry.plugins if p.name == "pdrun-bobs")
    assert info.source == "pdrun-bobs 1.0" and info.recipes == ("users-named-bob",)


def test_plugin_that_fails_to_import_is_isolated(site):
    make_plugin(site, "import no_such_module_anywhere\n", dist="pdrun-broken")
    make_plugin(site, GOOD_PLUGIN, dist="pdrun-bobs")
    registry = load_registry()
    broken = {p.name: p for p in registry.broken}
    assert "ModuleNotFoundError" in broken["pdrun-broken"].error
    assert "users-named-bob" in registry.recipes and "services-without-teams" in registry.recipes


def test_plugin_whose_hook_raises_is_isolated(site):
    make_plugin(
        site,
        """
        from runner import hookimpl

        @hookimpl
        def pdrun_recipes(register):
            raise RuntimeError("boom")
        """,
        dist="pdrun-raises",
    )
    registry = load_registry()
    assert [p.error for p in registry.broken] == ["RuntimeError: boom"]


def test_a_recipe_clashing_with_a_built_in_marks_its_plugin_broken_and_keeps_the_built_in(site):
    make_plugin(
        site,
        """
        from runner import hookimpl, recipe

        @recipe()
        def services_without_teams(ctx):
            \"\"\"Mine.\"\"\"

        @hookimpl
        def pdrun_recipes(register):
            register(services_without_teams)
        """,
        dist="pdrun-clash",
    )
    registry = load_registry()
    [broken] = registry.broken
    assert broken.name == "pdrun-clash"
    assert broken.error == "recipe 'services-without-teams' is already registered by 'recipes.services'"
    assert registry.recipes["services-without-teams"].plugin == "recipes.services"


def test_misspelled_hook_marks_the_plugin_broken(site):
    make_plugin(
        site,
        """
        from runner import hookimpl

        @hookimpl
        def pdrun_recipe(register):
            pass
        """,
        dist="pdrun-typo",
    )
    registry = load_registry()
    [broken] = registry.broken
    assert broken.name == "pdrun-typo"
    assert "'pdrun_recipe' (did you mean 'pdrun_recipes'?)" in broken.error


def test_every_hook_is_documented():
    from runner import hookspecs

    hooks = [name for name in dir(hookspecs) if name.startswith("pdrun_")]
    assert hooks
    for name in hooks:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert doc.strip(), f"hook {name} has no docstring"


def test_cli_shows_broken_plugin_and_keeps_working(site, invoke):
    make_plugin(site, "raise ImportError('half-installed')\n", dist="pdrun-broken")
    make_plugin(site, GOOD_PLUGIN, dist="pdrun-bobs")
    shown = invoke("plugins")
    assert shown.exit_code == 0
    row = next(line for line in shown.stdout.splitlines() if line.startswith("pdrun-broken"))
    assert "broken" in row and "ImportError: half-installed" in row
    assert "users-named-bob" in invoke("list").stdout
    run = invoke("services-without-teams", "--sandbox", "--format", "json")
    assert run.exit_code == 1
    assert '"plugin.broken"' in run.stderr and "pdrun-broken" in run.stderr


def test_real_pdrun_process_loads_an_entry_point_plugin(site):
    import os
    import subprocess
    import sys
    from pathlib import Path

    make_plugin(site, GOOD_PLUGIN, dist="pdrun-bobs")
    pdrun = str(Path(sys.executable).with_name("pdrun"))
    env = {**os.environ, "PYTHONPATH": str(site)}
    listed = subprocess.run([pdrun, "list"], capture_output=True, text=True, env=env, cwd=site)
    assert listed.returncode == 0 and "users-named-bob" in listed.stdout

"""Each mistake a plugin author makes marks that plugin broken, in one line; every other command keeps working."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from plugin_dist import GOOD_PLUGIN, make_plugin

PDRUN = str(Path(sys.executable).with_name("pdrun"))

CLASH = '''
    from runner import hookimpl, recipe

    @recipe()
    def services_without_teams(ctx):
        """Mine."""

    @hookimpl
    def pdrun_recipes(register):
        register(services_without_teams)
'''
COMMAND_CLASH = '''
    from runner import hookimpl, recipe

    @recipe(name="list")
    def my_list(ctx):
        """Mine."""

    @hookimpl
    def pdrun_recipes(register):
        register(my_list)
'''
UNKNOWN_HOOK = '''
    from runner import hookimpl

    @hookimpl
    def pdrun_recipe(register):
        pass
'''
NOT_A_RECIPE = '''
    from runner import hookimpl

    def users_named_alice(ctx):
        """Users called Alice."""

    @hookimpl
    def pdrun_recipes(register):
        register(users_named_alice)
'''
NO_HOOKIMPL = '''
    from runner import recipe

    @recipe()
    def users_named_alice(ctx):
        """Users called Alice."""

    def pdrun_recipes(register):
        register(users_named_alice)
'''
NO_HOOKS = '''
    from runner import recipe

    @recipe()
    def users_named_alice(ctx):
        """Users called Alice."""
'''
WRONG_ARGUMENT = '''
    from runner import hookimpl

    @hookimpl
    def pdrun_recipes(add):
        pass
'''
HOOK_RAISES = '''
    from runner import hookimpl

    @hookimpl
    def pdrun_recipes(register):
        raise RuntimeError("no config\\nfound")
'''
HOOK_EXITS = '''
    import sys

    from runner import hookimpl

    @hookimpl
    def pdrun_recipes(register):
        sys.exit("cannot find my settings")
'''
BAD_DEFAULT = '''
    from runner import Param, hookimpl, recipe

    @recipe(params=[Param(name="hours", type=int, default="4")])
    def users_named_alice(ctx):
        """Users called Alice."""

    @hookimpl
    def pdrun_recipes(register):
        register(users_named_alice)
'''
RESERVED_PARAM = '''
    from runner import Param, hookimpl, recipe

    @recipe(params=[Param(name="format", default="short")])
    def users_named_alice(ctx):
        """Users called Alice."""

    @hookimpl
    def pdrun_recipes(register):
        register(users_named_alice)
'''
NOT_A_COMMAND = '''
    from runner import hookimpl

    def hello():
        """Say hello."""

    @hookimpl
    def pdrun_commands(register):
        register(hello)
'''
CRASHING_COMMAND = '''
    import click

    from runner import hookimpl

    @click.command()
    def hello():
        """Say hello."""
        raise KeyError("greeting")

    @hookimpl
    def pdrun_commands(register):
        register(hello)
'''
BAD_VALIDATE = '''
    from runner import hookimpl, recipe

    def check(params):
        return params["missing"]

    @recipe(validate=check)
    def users_named_alice(ctx):
        """Users called Alice."""

    @hookimpl
    def pdrun_recipes(register):
        register(users_named_alice)
'''
ANY_COLLECTION = '''
    from runner import hookimpl, recipe

    @recipe(writes=["DELETE /{collection}/{id}"])
    def tidy(ctx):
        """Delete anything."""

    @hookimpl
    def pdrun_recipes(register):
        register(tidy)
'''

MISTAKES = {
    "clash": (CLASH, "recipe 'services-without-teams' is already registered by 'recipes.services'"),
    "command-clash": (COMMAND_CLASH, "recipe 'list' is already registered by 'runner.cli.catalog'"),
    "unknown-hook": (UNKNOWN_HOOK, "implements hooks pdrun does not have: 'pdrun_recipe' (did you mean 'pdrun_recipes'?)"),
    "not-a-recipe": (NOT_A_RECIPE, "register() in pdrun_recipes takes a Recipe, not 'users_named_alice'"
                     " (decorate users_named_alice with @runner.recipe)"),
    "not-a-command": (NOT_A_COMMAND, "register() in pdrun_commands takes a Command, not 'hello'"
                      " (decorate hello with @click.command())"),
    "no-hookimpl": (NO_HOOKIMPL, "defines pdrun_recipes without @hookimpl, so pdrun never calls it"),
    "no-hooks": (NO_HOOKS, "implements no pdrun hook (expected one of pdrun_commands, pdrun_recipes, pdrun_sinks,"
                 " with @hookimpl)"),
    "wrong-argument": (WRONG_ARGUMENT, "pdrun_recipes() takes add, which pdrun does not pass (it passes: register)"),
    "hook-raises": (HOOK_RAISES, "RuntimeError: no config found"),
    "bad-default": (BAD_DEFAULT, "TypeError: parameter 'hours' default: expected int, got '4'"),
    "hook-exits": (HOOK_EXITS, "SystemExit: cannot find my settings"),
    "import-exits": ("import sys\nsys.exit(0)\n", "SystemExit: 0"),
    "any-collection": (ANY_COLLECTION, "ValueError: a declared write is a method (POST, PUT, PATCH, DELETE) and an API path"
                       " template naming its collection, e.g. 'POST /incidents/{id}/notes'; got 'DELETE /{collection}/{id}'"),
    "import-error": ("import no_such_module_anywhere\n", "ModuleNotFoundError: No module named 'no_such_module_anywhere'"),
    "reserved-param": (RESERVED_PARAM, "recipe 'users-named-alice': parameter names reserved by pdrun's run options:"
                       " ['format']"),
}


def rows(stdout: str, plugin: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.split()[:1] == [plugin]]


def check(outcome, exit_code: int) -> None:
    """The command ended with this exit code, by itself, and printed no traceback."""
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit), outcome.exception
    assert outcome.exit_code == exit_code, outcome.output
    assert "Traceback" not in outcome.output


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_a_plugin_mistake_marks_that_plugin_broken_in_one_line_and_nothing_else(mistake, site, invoke, pd_account):
    source, error = MISTAKES[mistake]
    make_plugin(site, source, dist="pdrun-mistake")
    make_plugin(site, GOOD_PLUGIN, dist="pdrun-bobs")

    shown = invoke("plugins")
    check(shown, 0)
    [row] = rows(shown.stdout, "pdrun-mistake")
    assert " broken " in row and row.endswith(error)
    assert " ok " in rows(shown.stdout, "pdrun-bobs")[0]

    listed = invoke("list")
    check(listed, 0)
    assert {"services-without-teams", "users-named-bob", "incident-note"} <= {
        line.split()[0] for line in listed.stdout.splitlines()[1:]}
    check(invoke("--help"), 0)
    check(invoke("describe", "services-without-teams"), 0)

    builtin = invoke("services-without-teams", "--sandbox", "--format", "json")
    check(builtin, 1)
    assert json.loads(builtin.stdout)["status"] == "findings"
    theirs = invoke("users-named-bob", "--sandbox", "--format", "json")
    bobs = [u for u in pd_account.users.values() if u["name"].startswith("Bob")]
    check(theirs, 1 if bobs else 0)
    assert json.loads(theirs.stdout)["recipe"] == "users-named-bob"
    check(invoke("no-such-recipe"), 2)
    check(invoke("services-without-teams", "--days", "3"), 2)


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_plugin_can_be_left_out(how, site, invoke):
    make_plugin(site, CLASH, dist="pdrun-mistake")
    make_plugin(site, GOOD_PLUGIN, dist="pdrun-bobs")
    if how == "option":
        shown = invoke("--disable-plugin", "pdrun-mistake", "--disable-plugin", "pdrun-bobs", "plugins")
        listed = invoke("--disable-plugin", "pdrun-bobs", "list")
    else:
        shown = invoke("plugins", environ={"PDRUN_DISABLE_PLUGINS": "pdrun-mistake, pdrun-bobs"})
        listed = invoke("list", environ={"PDRUN_DISABLE_PLUGINS": "pdrun-bobs"})
    check(shown, 0)
    for plugin in ("pdrun-mistake", "pdrun-bobs"):
        [row] = rows(shown.stdout, plugin)
        assert " disabled " in row and row.endswith("left out by PDRUN_DISABLE_PLUGINS or --disable-plugin")
    check(listed, 0)
    assert "plugin.broken" not in listed.stderr
    assert "users-named-bob" not in listed.stdout and "services-without-teams" in listed.stdout


def test_leaving_out_a_plugin_that_is_not_installed_says_so(site, invoke):
    make_plugin(site, GOOD_PLUGIN, dist="pdrun-bobs")
    shown = invoke("--disable-plugin", "pdrun-bob", "plugins", environ={"PDRUN_DISABLE_PLUGINS": "recipes.services"})
    check(shown, 0)
    assert shown.stderr.splitlines() == [
        f"pdrun: {name!r}: no installed plugin has this name, so PDRUN_DISABLE_PLUGINS or --disable-plugin leaves"
        " nothing out (pdrun's built-in recipes cannot be left out)"
        for name in ("pdrun-bob", "recipes.services")
    ]
    assert " ok " in rows(shown.stdout, "pdrun-bobs")[0]
    ran = invoke("--disable-plugin", "pdrun-bob", "users-named-bob", "--sandbox")
    assert ran.exit_code in (0, 1) and "Traceback" not in ran.output
    assert "plugin.not_installed" in ran.stderr


def test_a_real_pdrun_process_prints_no_traceback_for_a_broken_plugin(site):
    make_plugin(site, CLASH, dist="pdrun-mistake")
    env = {**os.environ, "PYTHONPATH": str(site)}
    helped = subprocess.run([PDRUN, "--help"], capture_output=True, text=True, env=env, cwd=site)
    assert helped.returncode == 0 and "services-without-teams" in helped.stdout
    assert helped.stderr == ""
    shown = subprocess.run([PDRUN, "plugins"], capture_output=True, text=True, env=env, cwd=site)
    assert shown.returncode == 0 and shown.stderr == ""
    assert rows(shown.stdout, "pdrun-mistake")[0].endswith("already registered by 'recipes.services'")


@pytest.mark.parametrize(
    ("source", "args", "error"),
    [
        (CRASHING_COMMAND, ["hello"], "command 'hello' of plugin 'pdrun-hello' crashed: KeyError: 'greeting'"),
        (BAD_VALIDATE, ["users-named-alice", "--sandbox"],
         "recipe 'users-named-alice' of plugin 'pdrun-hello' crashed: KeyError: 'missing'"),
    ],
)
def test_a_plugin_command_or_recipe_that_crashes_outside_a_run_ends_in_one_line(site, invoke, source, args, error):
    make_plugin(site, source, dist="pdrun-hello")
    crashed = invoke(*args)
    check(crashed, 3)
    assert crashed.stderr == f"pdrun: error: {error}\n"

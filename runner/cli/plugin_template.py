"""The files of a new plugin package, as `string.Template`s over its names (`pdrun new-plugin`)."""

from __future__ import annotations

PYPROJECT = '''\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "pdrun recipes of $short."
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["pdrun"]

[project.optional-dependencies]
test = ["pytest>=8"]

# pdrun finds the plugin through this entry point; its name is what `pdrun plugins` shows.
[project.entry-points.pdrun]
$short = "$module"

[tool.setuptools]
packages = ["$module"]

[tool.pytest.ini_options]
testpaths = ["tests"]
'''

MODULE = '''\
"""pdrun recipes of $short: one audit to start from. pdrun's docs/plugins.md documents the API."""

from __future__ import annotations

from collections.abc import Iterator

from runner import Context, Finding, Param, hookimpl, recipe


@recipe(
    name="$recipe",
    tags=["$short"],
    params=[Param(name="min_length", default=20, minimum=0, help="The shortest description that says enough.")],
)
def services_without_description(ctx: Context) -> Iterator[Finding]:
    """Services whose description is missing or too short to say what they do.

    Whoever is paged for a service at night reads its description first.
    """
    for service in ctx.pd.iter("services"):
        description = (service.get("description") or "").strip()
        if len(description) < ctx.params["min_length"]:
            message = f"description of {len(description)} characters" if description else "no description"
            yield ctx.finding(service, message)


@hookimpl
def pdrun_recipes(register):
    register(services_without_description)
'''

TESTS = '''\
"""Tests of $dist, with the fixtures pdrun's testing kit gives every package (pd_account, pd_run, pd_cli...)."""

from __future__ import annotations

import json

from $module import services_without_description


def test_finds_services_whose_description_is_too_short(pd_account, pd_run):
    policy = next(iter(pd_account.escalation_policies))
    pd_account.add_service("Edge", escalation_policy=policy, description="CDN")
    pd_account.add_service("Invoices", escalation_policy=policy, description="Renders and sends every invoice.")
    result = pd_run(services_without_description)
    flagged = {finding.object.summary: finding.message for finding in result.findings}
    assert flagged["Edge"] == "description of 3 characters"
    assert "Invoices" not in flagged


def test_the_shortest_description_is_a_parameter(pd_run):
    assert pd_run(services_without_description, min_length=0).findings == ()


def test_the_installed_plugin_runs_from_the_command_line(pd_cli):
    [row] = [line for line in pd_cli("plugins").stdout.splitlines() if line.split()[:1] == ["$short"]]
    assert " ok " in row, row
    result = pd_cli("$recipe", "--sandbox", "--format", "json")
    assert result.exit_code == 1, result.stderr
    assert json.loads(result.stdout)["status"] == "findings"
'''

README = '''\
# $dist

pdrun recipes of $short. `$recipe` reports services whose description
is missing or too short to say what they do.

```sh
pip install -e ".[test]"      # in the environment pdrun is installed in
pdrun $recipe --sandbox       # on pdrun's built-in sandbox account
pdrun audit --tag $short      # every audit of this package, in one pass
pytest                        # the tests, on the sandbox: no PagerDuty account needed
```

Add recipes to `$module/__init__.py` and register each in
`pdrun_recipes`. pdrun's `docs/plugins.md` documents `@recipe`, `Param`,
`ctx` and the test fixtures.
'''

FILES = {
    "pyproject.toml": PYPROJECT,
    "README.md": README,
    "$module/__init__.py": MODULE,
    "tests/test_$module.py": TESTS,
}

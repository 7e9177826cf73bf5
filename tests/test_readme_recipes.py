"""The README's recipe table is the built-in catalogue: every recipe, with its kind, and nothing else."""

import re
from pathlib import Path

from runner.plugins import load_registry

README = Path(__file__).resolve().parents[1] / "README.md"


def _section() -> str:
    return README.read_text(encoding="utf-8").split("\n## Recipes\n", 1)[1].split("\n## ", 1)[0]


def _table() -> dict[str, str]:
    return dict(re.findall(r"^\| `([a-z0-9-]+)` \| (audit|write|report) \|", _section(), flags=re.M))


def test_the_recipe_table_lists_every_built_in_recipe_with_its_kind():
    registry = load_registry(entry_points=[])
    assert _table() == {name: recipe.kind for name, recipe in registry.recipes.items()}


def test_every_audit_is_tagged_hygiene_as_the_readme_says():
    registry = load_registry(entry_points=[])
    untagged = [name for name, r in registry.recipes.items() if r.kind == "audit" and "hygiene" not in r.tags]
    assert untagged == []


def test_the_defaults_the_recipe_table_gives_are_the_recipes_defaults():
    registry = load_registry(entry_points=[])
    documented = {
        (name, option.replace("-", "_")): float(default)
        for name, row in re.findall(r"^\| `([a-z0-9-]+)` \|[^|]+\|(.*)$", _section(), flags=re.M)
        for option, default in re.findall(r"`--([a-z-]+)` \(([0-9.]+)\)", row)
    }
    assert len(documented) == 10
    actual = {(name, param): registry.recipes[name].param(param).default for name, param in documented}
    assert actual == documented

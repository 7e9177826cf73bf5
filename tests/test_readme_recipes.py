"""The README's recipe table is the built-in catalogue: every recipe, with its kind, and nothing else."""

import re
from pathlib import Path

from runner.plugins import load_registry

README = Path(__file__).resolve().parents[1] / "README.md"


def _table() -> dict[str, str]:
    section = README.read_text(encoding="utf-8").split("\n## Recipes\n", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `([a-z0-9-]+)` \| (audit|write|report) \|", section, flags=re.M))


def test_the_recipe_table_lists_every_built_in_recipe_with_its_kind():
    registry = load_registry(entry_points=[])
    assert _table() == {name: recipe.kind for name, recipe in registry.recipes.items()}


def test_every_audit_is_tagged_hygiene_as_the_readme_says():
    registry = load_registry(entry_points=[])
    untagged = [name for name, r in registry.recipes.items() if r.kind == "audit" and "hygiene" not in r.tags]
    assert untagged == []

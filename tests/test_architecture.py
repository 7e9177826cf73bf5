"""The rules of docs/architecture.md, held by reading every module's imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PLUGIN_API = ("runner", "runner.recipe", "runner.params", "runner.context", "runner.results", "runner.errors",
              "runner.timestamps", "runner.hookspecs")
SANDBOX_SEAMS = {"runner.launch", "runner.cli.sandbox", "runner.testing", "runner.trends.demo"}
HEAVY = ("runner.sandbox", "pagerduty", "apscheduler", "sqlalchemy", "alembic", "httpx2", "structlog")
LONGEST_MODULE = 300


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((REPO / "runner").rglob("*.py"))}


@cache
def imports_of(name: str) -> frozenset[str]:
    """Every module `name` imports, at module level or inside functions (type-checking imports aside).

    `from package import submodule` counts as importing the submodule only.
    """
    found: set[str] = set()

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                self.generic_visit(node)

        def visit_Import(self, node: ast.Import) -> None:
            found.update(alias.name for alias in node.names)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            module = node.module or ""
            submodules = {f"{module}.{alias.name}" for alias in node.names} & set(modules())
            found.update(submodules or {module})
            if len(submodules) < len(node.names):
                found.add(module)

    Visitor().visit(ast.parse(modules()[name].read_text(encoding="utf-8")))
    return frozenset(found - {name})


def importers_of(prefix: str) -> set[str]:
    return {name for name in modules() if any(m == prefix or m.startswith(prefix + ".") for m in imports_of(name))}


def test_no_import_cycle_in_runner():
    graph = {name: {m for m in imports_of(name) if m in modules()} for name in modules()}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            pytest.fail("import cycle: " + " -> ".join([*path[path.index(name):], name]))
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, [*path, name])
        done.add(name)

    for name in graph:
        visit(name, [])


def test_nothing_in_runner_imports_the_built_in_recipes():
    assert importers_of("recipes") == set()


def test_the_plugin_api_imports_only_itself_and_the_standard_library():
    allowed = {*PLUGIN_API, "pluggy", "__future__"}
    for name in PLUGIN_API:
        foreign = {m for m in imports_of(name) if m.split(".")[0] in ("runner", *HEAVY, "click") and m not in allowed}
        assert not foreign, f"{name} imports {sorted(foreign)}"


def test_only_the_cli_and_the_kit_import_the_cli():
    outside = {n for n in importers_of("runner.cli") if not n.startswith("runner.cli")}
    assert outside <= {"runner.testing", "runner.__main__"}


def test_the_sandbox_is_reached_through_its_seams_only():
    users = {n for n in importers_of("runner.sandbox") if not n.startswith("runner.sandbox")}
    assert users == SANDBOX_SEAMS
    for name in modules():
        if name.startswith("runner.sandbox"):
            core = {m for m in imports_of(name) if m.startswith("runner.") and not m.startswith("runner.sandbox")}
            allowed = {"runner.errors", "runner.log"} if name == "runner.sandbox.command" else set()
            assert core <= allowed, f"{name} imports {sorted(core - allowed)}"


def test_only_the_writer_and_sinks_hold_the_write_permit():
    def takes_permit(path: Path) -> bool:
        return any(isinstance(node, ast.ImportFrom) and node.module == "runner.transport"
                   and any(alias.name == "permit" for alias in node.names) for node in ast.walk(ast.parse(path.read_text())))

    assert {name for name, path in modules().items() if takes_permit(path)} == {"runner.writer", "runner.sinks"}


def test_no_module_is_longer_than_the_rule():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > LONGEST_MODULE}
    assert not long


@pytest.mark.parametrize("args", [["--help"], ["list"], ["describe", "incident-note"]])
def test_listing_commands_load_nothing_heavy(args):
    probe = (
        "import sys\n"
        "from runner.cli import main\n"
        f"sys.argv = ['pdrun', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m.startswith('runner.sandbox')))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO)
    assert loaded.stdout.strip().splitlines()[-1] == "[]"

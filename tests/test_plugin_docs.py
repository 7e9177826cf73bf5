"""docs/plugins.md documents every public name of the plugin API, every hook and every fixture, with its real
signature (read from the code, so a change in the code fails here until the doc follows), and its example
package passes its own tests."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from docs import PLUGINS_DOC
from plugin_dist import install_project, run_project_tests

import runner
from runner import hookspecs, recipe
from runner.cli.options import run_option_names
from runner.context import Context, Reader
from runner.results import Action, ObjectRef, RunResult
from runner.sandbox import Account, Faults, SandboxApp, load_profile
from runner.sinks import Sink, SinkContext
from runner.testing import CliResult, PdCli, PdRun

DOC = PLUGINS_DOC.read_text(encoding="utf-8")
# A file of the example package: a code block whose first line is a comment naming the file.
EXAMPLE_FILE = re.compile(r"^```\w+\n# ([\w/]+\.(?:py|toml))\n(.*?)^```$", re.S | re.M)


class Shown:
    """A default value as the doc shows it: functions by name, long values elided."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        if callable(self.value) and hasattr(self.value, "__qualname__"):
            return f"{self.value.__module__}.{self.value.__qualname__}"
        text = repr(self.value)
        return text if len(text) <= 60 else "..."


def signature(func: Callable[..., Any], *, method: bool = False) -> str:
    """`func`'s signature as the doc writes it: no annotations, no `self`."""
    sig = inspect.signature(func)
    params = list(sig.parameters.values())[1 if method else 0:]
    params = [p.replace(annotation=p.empty, default=p.default if p.default is p.empty else Shown(p.default))
              for p in params]
    return str(sig.replace(parameters=params, return_annotation=sig.empty))


def heading_lines() -> list[int]:
    """The numbers of the doc's heading lines (not comments in its code blocks)."""
    numbers, fenced = [], False
    for number, line in enumerate(DOC.splitlines()):
        fenced ^= line.startswith("```")
        if not fenced and line.startswith("#"):
            numbers.append(number)
    return numbers


def headings() -> list[str]:
    return [DOC.splitlines()[n] for n in heading_lines()]


def section(title: str) -> str:
    """The text under the first heading holding `title`, up to the next heading of any level."""
    lines, numbers = DOC.splitlines(), heading_lines()
    start = next(n for n in numbers if title in lines[n])
    end = next((n for n in numbers if n > start), len(lines))
    return "\n".join(lines[start + 1:end])


def documented(text: str) -> bool:
    return f"`{text}`" in DOC or f"`{text}" in DOC and text.endswith(")")


def test_every_public_name_of_the_plugin_api_has_a_heading():
    for name in runner.__all__:
        value = getattr(runner, name)
        if name == "hookimpl":
            shown = "@hookimpl"
        elif name == "recipe":
            shown = f"@recipe{signature(value)}"
        elif inspect.isfunction(value) or dataclasses.is_dataclass(value) and name != "Context":
            shown = f"{name}{signature(value)}"
        else:
            shown = name
        assert any(f"`{shown}`" in heading for heading in headings()), f"no heading shows `{shown}`"
    assert repr(runner.PAGERDUTY_ID) in section("`PAGERDUTY_ID`")


def test_every_argument_of_recipe_and_param_is_explained():
    for title, func in (("`@recipe(", recipe), ("`Param(", runner.Param)):
        text = section(title)
        for name in inspect.signature(func).parameters:
            assert f"\n- `{name}`" in text, f"{title}: argument {name} is not explained"


def test_the_names_no_parameter_may_take_are_listed():
    text = section("`Param(")
    for name in run_option_names():
        assert f"`{name}`" in text, name


def test_everything_a_recipe_reaches_through_ctx_is_documented():
    example = recipe()(lambda ctx: None)
    ctx = Context(recipe=example, params={}, source=None, now=datetime.now(UTC), run_id="r", write_headers={}, log=None)
    members = {name for name in vars(ctx) if not name.startswith("_")}
    members |= {name for name in vars(Context) if not name.startswith("_")}
    for name in members:
        member = getattr(Context, name, None)
        shown = f"ctx.{name}{signature(member, method=True)}" if inspect.isfunction(member) else f"ctx.{name}"
        assert documented(shown), f"ctx.{name} is not documented as `{shown}`"
    for name, method in vars(Reader).items():
        if inspect.isfunction(method) and not name.startswith("_"):
            assert documented(f"ctx.pd.{name}{signature(method, method=True)}"), f"ctx.pd.{name}"


def test_every_hook_is_documented_with_its_signature():
    hooks = [name for name in dir(hookspecs) if name.startswith("pdrun_")]
    assert hooks
    for name in hooks:
        shown = f"{name}{signature(getattr(hookspecs, name))}"
        assert any(f"`{shown}`" in heading for heading in headings()), f"no heading shows `{shown}`"
    assert documented(f"Sink{signature(Sink)}") and documented(f"SinkContext{signature(SinkContext)}")


def fixtures() -> list[str]:
    tree = ast.parse(Path(inspect.getfile(PdRun)).read_text(encoding="utf-8"))
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef)
            and any(ast.unparse(d).startswith("pytest.fixture") for d in node.decorator_list)]


def test_every_fixture_of_the_kit_is_documented_with_its_signature():
    assert set(fixtures()) == {"pd_account", "pd_sandbox", "pd_session", "pd_run", "pd_cli", "pd_logs", "pd_server"}
    called = {"pd_run": PdRun.__call__, "pd_cli": PdCli.__call__}
    for name in fixtures():
        shown = f"{name}{signature(called[name], method=True)}" if name in called else name
        assert any(f"`{shown}`" in heading for heading in headings()), f"no heading shows `{shown}`"
    marker = signature(load_profile).replace("(name_or_path,", "(name_or_path='demo',")
    assert documented(f"@pytest.mark.pd_profile{marker}")


def test_what_the_fixtures_offer_is_documented_with_signatures():
    account = load_profile("demo")
    for name in dir(Account):
        if name.startswith("add_") or name == "set_incident_status":
            assert documented(f"pd_account.{name}{signature(getattr(Account, name), method=True)}"), name
    for name in ("now", "services", "users", "teams", "escalation_policies", "schedules", "incidents", "notes"):
        assert hasattr(account, name) and documented(f"pd_account.{name}"), name
    app = SandboxApp(account)
    for name in vars(app):
        assert name.startswith("_") or documented(f"pd_sandbox.{name}"), name
    assert documented(f"pd_sandbox.add_user_token{signature(SandboxApp.add_user_token, method=True)}")
    assert documented(f"Faults{signature(Faults)}") and documented("pd_server.url")
    for kind, prefix in ((RunResult, "result."), (runner.Finding, "finding."), (ObjectRef, "finding.object."),
                         (Action, "action."), (CliResult, "")):
        for field in dataclasses.fields(kind):
            assert documented(f"{prefix}{field.name}"), f"{kind.__name__}.{field.name}"


def example_files() -> dict[str, str]:
    return {path: code for path, code in EXAMPLE_FILE.findall(DOC)}


def test_the_example_package_passes_its_own_tests(tmp_path):
    files = example_files()
    assert sorted(files) == ["pdrun_oncall_care/__init__.py", "pyproject.toml", "tests/test_oncall_care.py"]
    project = tmp_path / "pdrun-oncall-care"
    for path, code in files.items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(code, encoding="utf-8")
    assert install_project(project, tmp_path / "site") == {"oncall-care": "pdrun_oncall_care"}
    tested = run_project_tests(project, tmp_path / "site")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert re.match(r"\d+ passed", tested.stdout.splitlines()[-1]) and "failed" not in tested.stdout


def test_the_readmes_smallest_package_runs(tmp_path, monkeypatch, invoke):
    readme = (PLUGINS_DOC.parents[1] / "README.md").read_text(encoding="utf-8")
    files = {path: code for path, code in EXAMPLE_FILE.findall(readme)}
    assert sorted(files) == ["pdrun_bobs.py", "pyproject.toml"]
    project = tmp_path / "pdrun-bobs"
    project.mkdir()
    for path, code in files.items():
        (project / path).write_text(code, encoding="utf-8")
    install_project(project, tmp_path / "site")
    monkeypatch.syspath_prepend(str(project))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    result = invoke("audit", "--tag", "bobs", "--sandbox", "--format", "json")
    assert result.exit_code in (0, 1) and list(json.loads(result.stdout)["sections"]) == ["users-named-bob"]


@pytest.mark.parametrize("doc", ["README.md", "runner/hookspecs.py", "runner/testing.py", "runner/__init__.py"])
def test_the_readme_and_the_code_point_at_the_doc(doc):
    assert "docs/plugins.md" in (PLUGINS_DOC.parents[1] / doc).read_text(encoding="utf-8")

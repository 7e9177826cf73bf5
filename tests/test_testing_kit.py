"""The pytest plugin, used the way a recipe author's package uses it: through the pytest11 entry point."""

from __future__ import annotations

from importlib.metadata import entry_points

from docs import code_blocks

pytest_plugins = ["pytester"]

# More of what a recipe author tests, after the documented example (docs/sandbox.md).
MORE_TESTS = '''
from datetime import datetime, timezone

import httpx2
import pytest

from runner.sandbox import Faults
from test_documented import services_without_description


def test_a_run_fails_cleanly_when_pagerduty_does(pd_sandbox, pd_run):
    pd_sandbox.faults = Faults(fail_rate=1)
    result = pd_run(services_without_description)
    assert result.status == "failed" and any(status in result.error for status in ("500", "502", "503"))


@pytest.mark.pd_profile("case.toml")
def test_a_profile_file_reproduces_a_case(pd_account, pd_run):
    assert [s["name"] for s in pd_account.services.values()] == ["Edge"]
    assert [f.object.summary for f in pd_run(services_without_description).findings] == ["Edge"]


@pytest.mark.pd_profile("demo", now=datetime(2024, 5, 6, 12, tzinfo=timezone.utc))
def test_the_server_answers_over_http(pd_server, pd_sandbox, pd_account):
    assert pd_account.now.year == 2024 and pd_server.url.startswith("http://127.0.0.1:")
    headers = {"Authorization": f"Token token={pd_sandbox.token}"}
    response = httpx2.get(pd_server.url + "/abilities", headers=headers)
    assert response.status_code == 200 and pd_sandbox.exchanges[-1].path == "/abilities"
'''

CASE = """
[[users]]
name = "Kim Park"

[[escalation_policies]]
name = "Edge"
rules = [["Kim Park"]]

[[services]]
name = "Edge"
escalation_policy = "Edge"
"""


def test_the_plugin_is_registered_through_pytest11():
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins["pdrun"] == "runner.testing"


def test_a_recipe_author_tests_with_the_fixtures(pytester):
    (documented,) = code_blocks("python")
    pytester.makefile(".toml", case=CASE)
    pytester.makepyfile(test_documented=documented, test_more=MORE_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_the_marker_is_declared(pytester):
    pytester.makepyfile(test_marker="import pytest\n\n@pytest.mark.pd_profile('demo')\ndef test_x(pd_account): pass")
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_the_readme_shows_the_tested_example():
    from pathlib import Path

    from docs import code_blocks

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    example = next(block for block in code_blocks("python") if "def test_" in block)
    assert f"```python\n{example}```" in readme


def test_the_documented_example_passes_alone_in_a_fresh_process(pytester):
    """Its pd_logs assertion holds in the first (here: only) test of a process."""
    (documented,) = code_blocks("python")
    pytester.makepyfile(test_documented=documented)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)

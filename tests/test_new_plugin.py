"""`pdrun new-plugin NAME` writes a package whose own tests pass as generated, once it is installed."""

from __future__ import annotations

import pytest
from plugin_dist import install_project, run_project_tests

FILES = ["README.md", "pdrun_acme_audits/__init__.py", "pyproject.toml", "tests/test_pdrun_acme_audits.py"]


def test_the_generated_package_passes_its_own_tests(invoke, workdir, tmp_path):
    made = invoke("new-plugin", "acme-audits")
    assert made.exit_code == 0, made.output
    assert made.stdout.splitlines()[0] == f"wrote acme-audits/: {', '.join(FILES[i] for i in (2, 0, 1, 3))}"
    project = workdir / "acme-audits"
    assert sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()) == FILES
    assert install_project(project, tmp_path / "site") == {"acme-audits": "pdrun_acme_audits"}

    tested = run_project_tests(project, tmp_path / "site")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.splitlines()[-1].startswith("3 passed")


@pytest.mark.parametrize("name", ["Acme", "acme_audits", "acme--audits", "acme.audits", "acme-", "1acme", "pdrun-", "a b"])
def test_a_bad_name_is_one_line_and_exit_2(invoke, workdir, name):
    result = invoke("new-plugin", name)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"pdrun: error: plugin name {name!r}: use lowercase letters")
    assert len(result.stderr.splitlines()) == 1 and not (workdir / name).exists()


def test_an_existing_directory_is_left_alone(invoke, workdir):
    (workdir / "acme-audits").mkdir()
    (workdir / "acme-audits" / "notes.txt").write_text("mine")
    result = invoke("new-plugin", "acme-audits")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == f"pdrun: error: {workdir / 'acme-audits'} already exists: choose another NAME, or move it away\n"
    assert [p.name for p in (workdir / "acme-audits").iterdir()] == ["notes.txt"]


def test_a_pdrun_prefix_is_not_doubled(invoke, workdir):
    assert invoke("new-plugin", "pdrun-acme").exit_code == 0
    assert 'name = "pdrun-acme"' in (workdir / "pdrun-acme" / "pyproject.toml").read_text()
    assert (workdir / "pdrun-acme" / "pdrun_acme" / "__init__.py").exists()

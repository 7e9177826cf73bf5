from __future__ import annotations

import ast
import dataclasses
import json
import re
from pathlib import Path

import pytest

from runner import config
from runner.errors import ConfigError, UsageError
from runner.plugins import load_registry
from runner.policy import DEFAULT_MAX_WRITES


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_file(tmp_path):
    loaded = config.load(None, environ={}, cwd=tmp_path)
    assert loaded.path is None
    assert loaded.pagerduty.token_env == "PAGERDUTY_API_TOKEN"
    assert loaded.pagerduty.url == "https://api.pagerduty.com"
    assert loaded.logging.format == "auto"


def test_lookup_order(tmp_path):
    cwd_file = write(tmp_path, '[pagerduty]\nregion = "eu"\n')
    env_file = tmp_path / "env.toml"
    env_file.write_text('[pagerduty]\nfrom_email = "env@example.com"\n')
    explicit = tmp_path / "explicit.toml"
    explicit.write_text('[pagerduty]\nfrom_email = "cli@example.com"\n')
    environ = {"PDRUN_CONFIG": str(env_file)}
    assert config.load(explicit, environ, tmp_path).path == explicit
    assert config.load(None, environ, tmp_path).path == env_file
    assert config.load(None, {}, tmp_path).path == cwd_file
    assert config.load(None, {}, tmp_path).pagerduty.url == "https://api.eu.pagerduty.com"


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.toml: no such configuration file \(from --config\)"):
        config.load(tmp_path / "nope.toml", {}, tmp_path)
    with pytest.raises(ConfigError, match=r"from \$PDRUN_CONFIG"):
        config.load(None, {"PDRUN_CONFIG": str(tmp_path / "gone.toml")}, tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[pagerduty]\nregoin = "eu"\n', r"\[pagerduty\] regoin: unknown key"),
        ('[pagerduty]\nregion = "mars"\n', r"\[pagerduty\] region: expected one of us, eu, got 'mars'"),
        ("[pagerduty]\ntimeout = true\n", r"\[pagerduty\] timeout: expected int or float, got True"),
        ('[pagerduty]\nfrom_email = 3\n', r"\[pagerduty\] from_email: expected str, got 3"),
        ('[pagerduty]\ntoken_env = ""\n', r"\[pagerduty\] token_env: must not be empty"),
        ('[runner]\nstate = " "\n', r"\[runner\] state: must not be empty"),
        ('[accounts.eu]\ntoken_file = ""\n', r"\[accounts.eu\] token_file: must not be empty"),
        ('[logging]\nformat = "xml"\n', r"\[logging\] format: expected one of auto, json, console"),
        ("[scheduler]\n", r"unknown table \[scheduler\]"),
        ("[recipes]\nfoo = 1\n", r"\[recipes\] must hold one table per recipe"),
        ("[pagerduty\n", r"invalid TOML"),
        ("a = " + "[" * 100_000 + "]" * 100_000 + "\n", r"invalid TOML: maximum recursion depth exceeded"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        config.load(path, {}, tmp_path)
    assert str(info.value).startswith(str(path))


def test_recipe_tables_are_kept(tmp_path):
    path = write(tmp_path, '[recipes.incident-note]\nmessage = "hi"\n')
    assert dict(config.load(path, {}, tmp_path).recipes["incident-note"]) == {"message": "hi"}


def test_repository_config_is_valid():
    loaded = config.load(Path(__file__).parents[1] / "config.toml", {}, Path("/"))
    assert loaded.pagerduty.from_email


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[pagerduty]\nrate_limit = -5\n", r"\[pagerduty\] rate_limit: expected a number from 0 to 100000, got -5"),
        ("[pagerduty]\nmax_retries = -1\n", r"\[pagerduty\] max_retries: expected a number from 0 to 20"),
        ("[runner]\nkeep_runs_days = 0\n", r"\[runner\] keep_runs_days: expected a number from 1 to 36500"),
        ("[runner]\nkeep_runs_days = 9223372036854775807\n", r"\[runner\] keep_runs_days: expected a number from 1"),
        ("[pagerduty]\ntimeout = nan\n", r"\[pagerduty\] timeout: expected a number from 0.1 to 600, got nan"),
        ("[pagerduty]\ntimeout = inf\n", r"\[pagerduty\] timeout: expected a number from 0.1 to 600, got inf"),
        ('[pagerduty]\nbase_url = "http://api.example.com"\n', r"plain http:// is allowed only on this machine"),
        ('[pagerduty]\nbase_url = "http://[::1"\n', r"expected an https:// URL"),
    ],
)
def test_settings_out_of_range_are_refused(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        config.load(write(tmp_path, text), {}, tmp_path)


def _readme_settings() -> dict[tuple[str, str], tuple[str, str]]:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    return {
        (table, key): (default, meaning)
        for table, key, default, meaning in re.findall(
            r"^\| `\[([\w.<>]+)\] (\w+)` \| ([^|]*) \| (.*) \|$", section, flags=re.M
        )
    }


def test_the_readmes_configuration_table_gives_the_built_in_defaults_and_ranges(tmp_path):
    loaded = config.load(None, environ={}, cwd=tmp_path)
    tables = {"pagerduty": loaded.pagerduty, "runner": loaded.runner, "logging": loaded.logging}
    settings = {
        (table, key): documented
        for (table, key), documented in _readme_settings().items()
        if table in tables and documented[0].startswith("`")
    }
    assert len(settings) == 11
    for (table, key), (default, meaning) in settings.items():
        assert getattr(tables[table], key) == ast.literal_eval(default.strip("`")), key
        bounds = re.search(r"\(([0-9.]+) to ([0-9.]+)\)|\(at most ([0-9]+)\)", meaning)
        metadata = {f.name: f.metadata for f in dataclasses.fields(tables[table])}[key]
        if bounds:
            low, high, at_most = bounds.groups()
            documented_bounds = (metadata["min"], float(at_most)) if at_most else (float(low), float(high))
            assert (metadata["min"], metadata["max"]) == documented_bounds, key
        else:
            assert "min" not in metadata, key


def test_the_readmes_max_writes_default_and_range_are_the_codes(tmp_path):
    default, meaning = _readme_settings()[("recipes.<name>", "max_writes")]
    assert int(default.strip("`")) == DEFAULT_MAX_WRITES
    assert "(0 to 1000000)" in meaning
    registry = load_registry(entry_points=[])
    schedule_cap = {f.name: f.metadata for f in dataclasses.fields(config.ScheduleConfig)}["max_writes"]
    assert schedule_cap == {"min": 0, "max": 1_000_000}
    for cap, accepted in ((0, True), (1_000_000, True), (-1, False), (1_000_001, False)):
        path = write(tmp_path, f"[recipes.incident-note]\nmax_writes = {cap}\n")
        loaded = config.load(path, environ={}, cwd=tmp_path)
        if accepted:
            registry.configured_defaults(loaded)
        else:
            with pytest.raises(UsageError, match="max_writes: expected a whole number from 0 to 1000000"):
                registry.configured_defaults(loaded)


def test_the_readmes_configuration_examples_make_one_valid_config(invoke, workdir):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```toml\n(.*?)^```$", readme, flags=re.S | re.M)
    examples = [block for block in blocks if "[project]" not in block]
    assert [next(line for line in block.splitlines() if line.startswith("[")).split()[0] for block in examples] == [
        "[pagerduty]", "[[schedule]]", "[runner]"
    ]
    accounts, schedule, runner = examples
    state = f'state = "sqlite:///{workdir}/history.db"'
    (workdir / "config.toml").write_text(accounts + schedule + re.sub(r"^state = .*$", state, runner, flags=re.M))
    result = invoke("schedules", "--format", "json", environ={"PAGERDUTY_API_TOKEN": "a", "PAGERDUTY_EU_TOKEN": "b"})
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert sorted((row["name"], row["account"]) for row in rows) == [
        ("morning-audit", "eu"), ("nightly-audit", "default"), ("nightly-audit", "eu")
    ]

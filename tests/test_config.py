from __future__ import annotations

from pathlib import Path

import pytest

from runner import config
from runner.errors import ConfigError


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

from __future__ import annotations

import pytest

from runner import Param, UsageError, recipe
from runner.results import Finding, ObjectRef


@recipe(
    params=[
        Param(name="message", required=True),
        Param(name="limit", type=int, default=5),
        Param(name="incident", multiple=True),
        Param(name="status", multiple=True, choices=("triggered", "resolved")),
    ],
    one_of=["incident", "status"],
)
def sample(ctx):
    """Do a sample thing.

    At length.
    """


def test_decorator_takes_name_and_summary_from_the_function():
    assert sample.name == "sample"
    assert sample.summary == "Do a sample thing."
    assert sample.description == "At length."


def test_cli_values_win_over_config_over_declared_defaults():
    defaults = sample.configured({"message": "from config", "limit": 7}, source="c.toml")
    params = sample.resolve_params({"message": None, "limit": None, "incident": ("P1",), "status": ()}, defaults)
    assert params == {"message": "from config", "limit": 7, "incident": ("P1",), "status": ()}
    params = sample.resolve_params({"message": "cli", "incident": ("P1",)}, defaults)
    assert params["message"] == "cli" and params["limit"] == 7
    params = sample.resolve_params({"message": "cli", "status": ("resolved",)}, {})
    assert params["limit"] == 5


def test_required_and_one_of_are_enforced():
    with pytest.raises(UsageError, match="needs --message"):
        sample.resolve_params({"incident": ("P1",)}, {})
    with pytest.raises(UsageError, match="needs at least one of --incident, --status"):
        sample.resolve_params({"message": "m"}, {})


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"mesage": "x"}, r"c.toml: unknown parameter 'mesage' \(recipe 'sample' takes: message, limit"),
        ({"limit": "5"}, r"c.toml limit: expected int, got '5'"),
        ({"limit": True}, r"c.toml limit: expected int, got True"),
        ({"incident": "P1"}, r"c.toml incident: expected a list of str"),
        ({"status": ["open"]}, r"c.toml status: expected one of triggered, resolved, got 'open'"),
    ],
)
def test_configured_defaults_are_checked(table, message):
    with pytest.raises(UsageError, match=message):
        sample.configured(table, source="c.toml")


def test_reserved_parameter_names_mark_the_plugin_broken():
    import types

    from runner import hookimpl
    from runner.cli.options import run_option_names
    from runner.plugins import load_registry

    plugin = types.ModuleType("pdrun_dry")
    plugin.clash = recipe(params=[Param(name="dry_run", type=bool)])(lambda ctx: None)
    plugin.pdrun_recipes = hookimpl(lambda register: register(plugin.clash))
    registry = load_registry(entry_points=[], plugins=[("pdrun_dry", plugin)], reserved_params=run_option_names())
    [broken] = registry.broken
    assert broken.name == "pdrun_dry" and "reserved by pdrun's run options: ['dry_run']" in broken.error
    assert "<lambda>" not in registry.recipes and "services-without-teams" in registry.recipes


def test_fingerprint_is_stable_and_distinguishes_objects():
    ref = ObjectRef(type="service", id="P1", summary="a")
    a = Finding(recipe="r", rule="x", severity="warning", message="m", object=ref)
    b = Finding(recipe="r", rule="x", severity="error", message="other text", object=ref)
    c = Finding(recipe="r", rule="x", severity="warning", message="m", object=ObjectRef(type="service", id="P2"))
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert len(a.fingerprint) == 16


def test_object_ref_strips_reference_suffix():
    ref = ObjectRef.of({"id": "P1", "type": "service_reference", "summary": "Checkout", "html_url": "u"})
    assert ref == ObjectRef(type="service", id="P1", summary="Checkout", html_url="u")
    owned = ObjectRef.of({"id": "P2", "type": "service", "name": "Cart", "teams": [{"id": "PT1"}, {"id": "PT2"}]})
    assert owned.teams == ("PT1", "PT2") and owned.summary == "Cart"
    assert ObjectRef.of({"id": "PT3", "type": "team", "summary": "Data"}).teams == ("PT3",)

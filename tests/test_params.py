"""Param: its type implied by its default, a default that does not fit refused, and options that show both."""

from __future__ import annotations

import json

import pytest
from plugin_dist import make_plugin

from runner import Param

HOURS_PLUGIN = '''
    from runner import Param, hookimpl, recipe

    @recipe(params=[
        Param(name="hours", default=4, help="Window."),
        Param(name="ratio", type=float, default=1, minimum=0, maximum=1),
        Param(name="status", multiple=True, default=["triggered", "acknowledged"]),
        Param(name="loud", default=False),
    ])
    def echo_params(ctx):
        """Report the parameters as the recipe receives them."""
        shown = {name: [repr(value), type(value).__name__] for name, value in ctx.params.items()}
        yield ctx.finding({"id": "P1", "type": "service"}, json.dumps(shown))

    import json

    @hookimpl
    def pdrun_recipes(register):
        register(echo_params)
'''


@pytest.mark.parametrize(
    ("param", "kind", "default"),
    [
        (Param(name="hours", default=4), int, 4),
        (Param(name="ratio", default=0.5), float, 0.5),
        (Param(name="ratio", type=float, default=1), float, 1.0),
        (Param(name="loud", default=True), bool, True),
        (Param(name="prefix", default="Bob"), str, "Bob"),
        (Param(name="prefix"), str, None),
        (Param(name="ids", multiple=True, default=[3, 5]), int, (3, 5)),
        (Param(name="ids", multiple=True), str, None),
    ],
)
def test_the_type_is_implied_by_the_default(param, kind, default):
    assert param.type is kind and param.default == default


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        (dict(type=int, default="4"), "parameter 'x' default: expected int, got '4'"),
        (dict(type=int, default=True), "parameter 'x' default: expected int, got True"),
        (dict(default=4, minimum=5), "parameter 'x' default: expected at least 5, got 4"),
        (dict(default="open", choices=("triggered", "resolved")),
         "parameter 'x' default: expected one of triggered, resolved, got 'open'"),
        (dict(default="pwcqih1", pattern=r"[A-Z0-9]{2,32}"),
         "parameter 'x' default: expected a PagerDuty id (capital letters and digits, e.g. PWCQIH1), got 'pwcqih1'"),
        (dict(multiple=True, default="P1"), "parameter 'x' default: expected a list of str"),
        (dict(type=list), "parameter 'x': type must be one of str, int, float, bool, not <class 'list'>"),
    ],
)
def test_a_default_that_does_not_fit_is_refused_where_it_is_declared(declare, message):
    with pytest.raises(TypeError) as raised:
        Param(name="x", **declare)
    assert str(raised.value) == message


@pytest.fixture
def echo(site):
    make_plugin(site, HOURS_PLUGIN, dist="pdrun-echo")


def received(result) -> dict[str, list[str]]:
    return json.loads(json.loads(result.stdout)["findings"][0]["message"])


def test_command_line_values_arrive_typed(echo, invoke):
    defaults = invoke("echo-params", "--sandbox", "--format", "json")
    assert defaults.exit_code == 1, defaults.output
    assert received(defaults) == {"hours": ["4", "int"], "ratio": ["1.0", "float"], "loud": ["False", "bool"],
                                  "status": ["('triggered', 'acknowledged')", "tuple"]}
    given = invoke("echo-params", "--sandbox", "--format", "json", "--hours", "10", "--ratio", "0.5", "--loud",
                   "--status", "resolved")
    assert received(given) == {"hours": ["10", "int"], "ratio": ["0.5", "float"], "loud": ["True", "bool"],
                               "status": ["('resolved',)", "tuple"]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--hours", "ten"), "Invalid value for '--hours': 'ten' is not a valid integer."),
        (("--ratio", "2"), "--ratio: expected at most 1, got 2.0"),
    ],
)
def test_a_bad_value_is_one_line_and_exit_2(echo, invoke, args, message):
    result = invoke("echo-params", "--sandbox", *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("pdrun: error: ") and message in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_options_show_the_type_bounds_and_default(echo, invoke):
    helped = " ".join(invoke("echo-params", "--help").stdout.split())
    assert "--hours INTEGER Window. [int; default: 4]" in helped
    assert "--ratio FLOAT [float, 0 to 1; default: 1.0]" in helped
    assert "--status TEXT [str, repeatable; default: triggered, acknowledged]" in helped
    assert "--loud / --no-loud [bool; default: False]" in helped
    described = invoke("describe", "echo-params").stdout
    assert [line.split() for line in described.splitlines() if line.startswith("--hours")] == [
        ["--hours", "int", "4", "Window."]]

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from plugin_dist import make_plugin

from runner.config import Config
from runner.errors import UsageError
from runner.plugins import load_registry
from runner.sinks import bind_sinks


class Receiver:
    """A webhook endpoint on 127.0.0.1 answering the statuses it is given, then 200."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.bodies: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.bodies.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(*statuses: int) -> Receiver:
        made.append(Receiver(*statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


def with_sink(workdir, table: str) -> None:
    config = workdir / "config.toml"
    config.write_text(config.read_text() + "\n" + table)


def test_webhook_sink_posts_the_result(invoke, workdir, receiver):
    hook = receiver()
    with_sink(workdir, f'[sinks.chat]\ntype = "webhook"\nurl = "{hook.url}"\n')
    result = invoke("services-without-teams", "--sandbox", "--sink", "chat", "--format", "json")
    assert result.exit_code == 1
    printed = json.loads(result.stdout)
    assert len(hook.bodies) == 1
    assert hook.bodies[0]["result"] == printed
    assert hook.bodies[0]["text"].startswith("pdrun services-without-teams: findings, 6 findings")


def test_webhook_sink_retries_then_fails_without_failing_the_run(invoke, workdir, receiver, state_home):
    hook = receiver(503, 503, 503, 503)
    with_sink(workdir, f'[sinks.chat]\ntype = "webhook"\nurl = "{hook.url}"\nretries = 1\ntimeout = 5\n')
    result = invoke("services-without-teams", "--sandbox", "--sink", "chat", "--format", "json")
    assert result.exit_code == 1 and json.loads(result.stdout)["status"] == "findings"
    assert len(hook.bodies) == 2
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    failed = [e for e in events if e["event"] == "sink.failed"]
    assert failed and "after 2 attempts (HTTP 503)" in failed[0]["error"]
    finished = next(e for e in events if e["event"] == "run.finished")
    assert finished["sinks_failed"] == ["chat"]
    shown = json.loads(invoke("history", "--format", "json").stdout)[0]
    assert shown["sink_errors"] == {"chat": "webhook sink: delivery failed after 2 attempts (HTTP 503)"}
    assert shown["status"] == "findings"


def test_webhook_url_never_reaches_the_logs(invoke, workdir):
    secret_url = "http://127.0.0.1:9/services/T000/B000/sEcReTwEbHoOk"
    with_sink(workdir, f'[sinks.chat]\ntype = "webhook"\nurl = "{secret_url}"\nretries = 0\n')
    result = invoke("services-without-teams", "--sandbox", "--sink", "chat")
    assert "sEcReTwEbHoOk" not in result.stderr + result.stdout


def test_log_sink_logs_one_line_per_finding(invoke):
    result = invoke("services-without-teams", "--sandbox", "--sink", "log", "--format", "json")
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    logged = [e for e in events if e["event"] == "finding"]
    findings = json.loads(result.stdout)["findings"]
    assert sorted(e["fingerprint"] for e in logged) == sorted(f["fingerprint"] for f in findings)
    assert all(e["state"] == "new" and e["object_type"] == "service" for e in logged)


def test_sink_configuration_is_checked():
    registry = load_registry(entry_points=[])
    with pytest.raises(UsageError, match=r"unknown sink 'slak'"):
        bind_sinks(["slak"], Config(), registry.sinks)
    config = Config(sinks={"chat": {"type": "webhook"}})
    with pytest.raises(UsageError, match=r"\[sinks.chat\]: sink 'webhook' needs url"):
        bind_sinks(["chat"], config, registry.sinks)
    config = Config(sinks={"chat": {"type": "webhook", "url": "http://x", "retries": "3"}})
    with pytest.raises(UsageError, match=r"\[sinks.chat\] retries: expected int"):
        bind_sinks(["chat"], config, registry.sinks)
    config = Config(sinks={"chat": {"type": "webhook", "url": "http://x", "retries": -1}})
    with pytest.raises(UsageError, match=r"\[sinks.chat\] retries: expected at least 0, got -1"):
        bind_sinks(["chat"], config, registry.sinks)
    config = Config(sinks={"chat": {"type": 5}})
    with pytest.raises(UsageError, match=r"\[sinks.chat\] type: expected the name of a kind of sink, got 5"):
        bind_sinks(["chat"], config, registry.sinks)
    with pytest.raises(UsageError, match=r"sinks: expected sink names, got 1"):
        bind_sinks([1], Config(), registry.sinks)


def test_events_sink_triggers_then_resolves_one_alert(invoke, workdir, pd_account, pd_sandbox):
    from runner.sandbox.demo import DEMO_ROUTING_KEY

    environ = {"PDRUN_EVENTS_ROUTING_KEY": DEMO_ROUTING_KEY}
    first = invoke("services-without-teams", "--sandbox", "--sink", "events", environ=environ)
    assert first.exit_code == 1, first.stderr
    for service in pd_account.services.values():
        service["teams"] = service["teams"] or [next(iter(pd_account.teams.values()))]
    clean = invoke("services-without-teams", "--sandbox", "--sink", "events", "--format", "json", environ=environ)
    assert clean.exit_code == 0 and json.loads(clean.stdout)["summary"]["resolved"] == 6
    events = [json.loads(e.body) for e in pd_sandbox.exchanges if e.path == "/v2/enqueue"]
    assert [e["event_action"] for e in events] == ["trigger", "resolve"]
    assert events[0]["dedup_key"] == events[1]["dedup_key"]
    assert events[0]["payload"]["summary"].startswith("pdrun services-without-teams: findings, 6 findings")
    assert events[0]["payload"]["custom_details"]["new"] == 6
    assert pd_account.alerts[events[0]["dedup_key"]]["status"] == "resolved"


def test_events_sink_without_a_routing_key_fails_alone(invoke, pd_sandbox):
    result = invoke("services-without-teams", "--sandbox", "--sink", "events", "--format", "json")
    assert result.exit_code == 1 and json.loads(result.stdout)["status"] == "findings"
    assert "set the environment variable PDRUN_EVENTS_ROUTING_KEY" in result.stderr
    assert not [e for e in pd_sandbox.exchanges if e.path == "/v2/enqueue"]


QUITTING_SINK = """
    import sys

    from runner import hookimpl
    from runner.sinks import Sink

    @hookimpl
    def pdrun_sinks(register):
        register(Sink(name="quits", summary="Give up the way scripts do.",
                      deliver=lambda result, options, context: sys.exit("no chat configured")))
"""


def test_a_sink_that_calls_sys_exit_fails_alone(site, invoke):
    make_plugin(site, QUITTING_SINK, dist="pdrun-quits")
    result = invoke("services-without-teams", "--sandbox", "--sink", "quits", "--format", "json")
    assert result.exit_code == 1 and json.loads(result.stdout)["status"] == "findings"
    assert '"error": "SystemExit: no chat configured", "event": "sink.failed"' in result.stderr


def test_the_readmes_sink_table_lists_each_built_in_kind_with_its_options_and_defaults():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Sinks\n", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `(\w+)` \| [^|]+ \|(.*)\|$", section, flags=re.M))
    sinks = load_registry(entry_points=[]).sinks
    assert sorted(rows) == sorted(sinks)
    documented = {
        (kind, option): re.sub(r"^default |`| s(?=;|$)", "", value)
        for kind, options in rows.items()
        for option, value in re.findall(r"`(\w+)` \(([^)]*)\)", options)
    }
    actual = {
        (kind, option.name): "required" if option.required else f"{option.default:g}; {option.minimum:g} to"
        f" {option.maximum:g}" if isinstance(option.default, float | int) else option.default
        for kind, sink in sinks.items()
        for option in sink.options
    }
    assert documented == actual

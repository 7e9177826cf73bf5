from __future__ import annotations

import io
import json
import socket
import threading
import time

import pytest
from sessions import session_for

from runner import log as pdlog
from runner.cli.exit_codes import exit_code
from runner.config import Config, PagerDutyConfig
from runner.errors import ApiError, ConfigError, TokenRejected
from runner.launch import Launcher, Target
from runner.plugins import load_registry
from runner.policy import READ_ONLY
from runner.run import run_recipe
from runner.session import read_token
from runner.transport import backoff, permit, tracking

SECRET = "u+sEcReT-token-0123456789"


class Faults:
    """WSGI middleware answering the first requests with canned failures, then the sandbox."""

    def __init__(self, app, *responses: tuple[int, dict[str, str]]) -> None:
        self.app = app
        self.pending = list(responses)
        self.seen: list[str] = []

    def __call__(self, environ, start_response):
        self.seen.append(environ["REQUEST_METHOD"])
        if self.pending:
            status, headers = self.pending.pop(0)
            start_response(f"{status} Error", [("content-type", "application/json"), *headers.items()])
            return [json.dumps({"error": {"message": "injected", "code": 2020}}).encode()]
        return self.app(environ, start_response)


def test_timeout_is_really_set(pd_sandbox):
    session = session_for(pd_sandbox)
    assert session._client.timeout == 7.5


def test_429_is_retried_after_ratelimit_reset(pd_sandbox):
    faults = Faults(pd_sandbox, (429, {"ratelimit-reset": "4"}), (429, {"ratelimit-reset": "2"}))
    sleeps: list[float] = []
    session = session_for(faults, sleeps=sleeps)
    with tracking() as traffic:
        services = list(session.iter("services"))
    assert services and sleeps == [4.0, 2.0]
    assert traffic.calls == faults.seen.count("GET") == 3 + (len(services) - 1) // 100


def test_429_retries_are_bounded(pd_sandbox):
    faults = Faults(pd_sandbox, *[(429, {"ratelimit-reset": "1"})] * 10)
    session = session_for(faults, retries=2)
    with pytest.raises(ApiError, match="rate limited by PagerDuty after 3 attempts"):
        session.get("services")
    assert len(faults.seen) == 3


def test_5xx_is_retried_on_reads_only(pd_sandbox):
    faults = Faults(pd_sandbox, (503, {}), (503, {}))
    sleeps: list[float] = []
    session = session_for(faults, sleeps=sleeps)
    assert session.get("services")  # two 503s, then the real answer
    assert len(sleeps) == 2 and all(0 < s <= 4 for s in sleeps)
    faults.pending = [(503, {})]
    with pytest.raises(ApiError, match="503"), permit("POST", "/incidents/PNOPE00/notes"):
        session.write("POST", "/incidents/PNOPE00/notes", {"note": {"content": "x"}})
    assert faults.seen[-1] == "POST" and faults.seen.count("POST") == 1


def test_a_read_backs_off_doubling_from_half_a_second_jittered_and_capped(monkeypatch):
    monkeypatch.setattr("runner.transport.random.random", lambda: 1.0)
    longest = [backoff(attempt) for attempt in range(6)]
    monkeypatch.setattr("runner.transport.random.random", lambda: 0.0)
    shortest = [backoff(attempt) for attempt in range(6)]
    assert longest == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert shortest == [wait / 2 for wait in longest]


def test_rejected_token_names_its_source_and_never_the_token(pd_sandbox):
    stream = io.StringIO()
    pdlog.configure(format="json", level="debug", stream=stream)
    session = session_for(pd_sandbox, token=SECRET)
    recipe = load_registry(entry_points=[]).get("services-without-teams")
    result = run_recipe(recipe, session=session, params={}, policy=READ_ONLY)
    assert result.status == "failed" and exit_code([result]) == 3
    assert "rejected the API token from $PAGERDUTY_API_TOKEN" in result.error
    assert 'region = "eu"' in result.error
    with pytest.raises(TokenRejected) as info:
        session.get("services")
    logs = stream.getvalue()
    assert "run.failed" in logs
    for text in (result.error, json.dumps(result.to_dict()), logs, str(info.value), repr(info.value)):
        assert SECRET not in text and SECRET[-4:] not in text


def test_redaction_covers_foreign_log_lines():
    import logging

    stream = io.StringIO()
    pdlog.configure(format="json", stream=stream)
    pdlog.add_secret(SECRET)
    logging.getLogger("pagerduty.api_client").warning("header was Token token=%s", SECRET)
    assert SECRET not in stream.getvalue() and "[redacted]" in stream.getvalue()


def test_token_comes_from_the_named_variable_or_a_file(tmp_path):
    config = PagerDutyConfig(token_env="MY_PD_TOKEN")
    assert read_token(config, {"MY_PD_TOKEN": " abc \n"}) == ("abc", "$MY_PD_TOKEN")
    with pytest.raises(ConfigError, match="set the environment variable MY_PD_TOKEN"):
        read_token(config, {})
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    assert read_token(PagerDutyConfig(token_file=str(token_file)), {}) == ("from-file", f"token file {token_file}")


def test_http_base_url_is_reached_through_a_transport():
    config = Config(pagerduty=PagerDutyConfig(base_url="http://127.0.0.1:9"))
    session = Launcher(environ={"PAGERDUTY_API_TOKEN": "a-realistic-token"}).session(config, Target())
    assert session.url == "http://127.0.0.1:9"
    assert session._client.url == "https://127.0.0.1:9"


@pytest.fixture
def trickling_url():
    """A server that answers each request with a body of 60 bytes, one every 50 ms: each read is quick, the
    whole answer slow."""
    listener = socket.create_server(("127.0.0.1", 0))
    body = json.dumps({"service": {"id": "PSLOW01"}}).ljust(60).encode()

    def answer(connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            try:
                connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                                   b"content-length: %d\r\n\r\n" % len(body))
                for byte in body:
                    connection.sendall(bytes([byte]))
                    time.sleep(0.05)
            except OSError:
                pass

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(connection,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_timeout_bounds_a_whole_request_however_slowly_it_trickles(trickling_url):
    config = Config(pagerduty=PagerDutyConfig(base_url=trickling_url, timeout=0.3, max_retries=0))
    session = Launcher(environ={"PAGERDUTY_API_TOKEN": "a-realistic-token"}).session(config, Target())
    with pytest.raises(ApiError, match=r"GET /services/PSLOW01: cannot reach PagerDuty \(ReadTimeout\)"):
        session.get("services/PSLOW01")


def test_a_5xx_is_retried_within_seconds_even_when_the_rate_window_resets_later(pd_sandbox):
    """Under a rate limit every response carries ratelimit-reset; a 5xx still backs off by seconds, not a window."""
    faults = Faults(pd_sandbox, *[(503, {"ratelimit-limit": "960", "ratelimit-remaining": "900",
                                         "ratelimit-reset": "58"})] * 3)
    sleeps: list[float] = []
    session = session_for(faults, sleeps=sleeps, retries=4)
    assert session.get("services")
    assert len(sleeps) == 3 and all(0 < s <= 4 for s in sleeps) and sum(sleeps) <= 8

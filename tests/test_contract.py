"""Every sandbox route, and the main errors, checked against PagerDuty's OpenAPI spec."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import httpx2
import pytest
import spec
from spec import KNOWN_SPEC_BUGS, check_exchanges, validate_exchange

from runner.sandbox import SANDBOX_BASE_URL, SANDBOX_TOKEN, Exchange, SandboxApp, demo_account
from runner.sandbox.demo import DEMO_FROM_EMAIL, DEMO_INCIDENT_ID
from runner.sandbox.routes import ROUTES

NOW = datetime(2024, 5, 6, 12, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Case:
    """One request to send.

    `route` is "METHOD /pattern": `{id}` becomes `id` or the first object of the
    collection; `{team}` and `{service}` in parameters become the first team's and service's ids.
    """

    route: str
    status: int = 200
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    sender: str | None = DEMO_FROM_EMAIL
    token: str | None = SANDBOX_TOKEN
    id: str | None = None

    def __str__(self) -> str:
        return f"{self.route} {self.status} {json.dumps(self.params)}"


NOTE = {"note": {"content": "Rolled back; watching."}}
STATUS_UPDATE = {"message": "Mitigated.", "subject": "Checkout", "html_message": "<p>Mitigated.</p>"}

CASES = (
    Case("GET /services", params={"include[]": ["teams", "escalation_policies"], "total": "true", "limit": 100}),
    Case("GET /services", params={"team_ids[]": "{team}", "query": "a", "limit": 2, "offset": 1}),
    Case("GET /services/{id}", params={"include[]": ["teams", "escalation_policies"]}),
    Case("GET /teams", params={"query": "pay"}),
    Case("GET /teams/{id}"),
    Case("GET /teams/{id}/members", params={"total": "true"}),
    Case("GET /users", params={"team_ids[]": "{team}", "limit": 3}),
    Case("GET /users/{id}"),
    Case("GET /escalation_policies", params={"total": "true"}),
    Case("GET /escalation_policies/{id}"),
    Case("GET /schedules"),
    Case("GET /schedules/{id}"),
    Case("GET /incidents", params={"statuses[]": ["triggered", "acknowledged", "resolved"], "limit": 100}),
    Case("GET /incidents", params={"date_range": "all", "service_ids[]": "{service}", "total": "true"}),
    Case("GET /incidents/{id}", id=DEMO_INCIDENT_ID),
    Case("GET /incidents/{id}/notes", id=DEMO_INCIDENT_ID),
    Case("POST /incidents/{id}/notes", status=200, json=NOTE, id=DEMO_INCIDENT_ID),
    Case("POST /incidents/{id}/status_updates", status=200, json=STATUS_UPDATE, id=DEMO_INCIDENT_ID),
    # The errors recipes meet.
    Case("GET /services", status=401, token="not-the-token"),
    Case("GET /incidents", status=401, token=None),
    Case("GET /services/{id}", status=404, id="PNOSUCH"),
    Case("GET /incidents/{id}/notes", status=404, id="PNOSUCH"),
    Case("GET /no_such_collection", status=404),
    Case("GET /incidents", status=400, params={"offset": 9950, "limit": 100}),
    Case("GET /incidents", status=400, params={"statuses[]": "open"}),
    Case("POST /incidents/{id}/notes", status=400, json=NOTE, sender=None, id=DEMO_INCIDENT_ID),
    Case(
        "POST /incidents/{id}/status_updates",
        status=400,
        json=STATUS_UPDATE,
        sender="nobody@example.com",
        id=DEMO_INCIDENT_ID,
    ),
)


def _app() -> SandboxApp:
    return SandboxApp(demo_account(now=NOW))


def send(app: SandboxApp, case: Case) -> Exchange:
    """Send `case` to `app` in process and return the one exchange it produced."""
    method, pattern = case.route.split(" ")
    account = app.account
    placeholders = {"team": next(iter(account.teams)), "service": next(iter(account.services))}
    params = {
        key: value.format(**placeholders) if isinstance(value, str) else value
        for key, value in case.params.items()
    }
    if "{id}" in pattern:
        pattern = pattern.format(id=case.id or next(iter(getattr(account, pattern.split("/")[1]))))
    headers = {}
    if case.token is not None:
        headers["Authorization"] = f"Token token={case.token}"
    if case.sender is not None and method != "GET":
        headers["From"] = case.sender
    with httpx2.Client(transport=httpx2.WSGITransport(app=app), base_url=SANDBOX_BASE_URL) as client:
        response = client.request(method, pattern, params=params, json=case.json, headers=headers)
    assert response.status_code == case.status, response.text
    assert len(app.exchanges) == 1
    return app.exchanges[0]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_exchange_follows_the_spec(case: Case) -> None:
    validate_exchange(send(_app(), case))


def test_every_route_is_covered() -> None:
    covered = {case.route for case in CASES if case.status < 300}
    assert covered == {f"{route.method} {route.pattern}" for route in ROUTES}


def test_every_known_spec_bug_is_still_needed() -> None:
    excused = set().union(*(validate_exchange(send(_app(), case)) for case in CASES))
    assert excused == set(KNOWN_SPEC_BUGS)


def test_checker_reports_a_response_breaking_the_spec() -> None:
    exchange = send(_app(), Case("GET /incidents/{id}", id=DEMO_INCIDENT_ID))
    body = json.loads(exchange.response_body)
    body["incident"]["status"] = "open"
    with pytest.raises(AssertionError, match="incident/status"):
        validate_exchange(replace(exchange, response_body=json.dumps(body).encode()))


def test_checker_reports_a_bad_request_served_as_success() -> None:
    exchange = send(_app(), Case("GET /services", params={"include[]": "bogus"}))
    with pytest.raises(AssertionError, match="request"):
        validate_exchange(exchange)


def test_check_exchanges_lists_every_failure() -> None:
    good = send(_app(), Case("GET /teams"))
    bad = replace(good, response_body=b'{"limit": "many"}')
    with pytest.raises(AssertionError) as failure:
        check_exchanges([bad, good, replace(bad, path="/users")])
    assert str(failure.value).count(" -> 200") == 2


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_a_missing_spec_skips_except_under_ci(monkeypatch, tmp_path, ci, outcome):
    monkeypatch.setattr(spec, "SPEC_PATH", tmp_path / "missing.json")
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome):
        spec.load_spec()

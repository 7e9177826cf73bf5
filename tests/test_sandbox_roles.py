"""What each PagerDuty role lets a user-level token read and change in the sandbox."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx2
import pytest
from spec import check_exchanges

from runner.sandbox import SANDBOX_BASE_URL, SANDBOX_TOKEN, Account, SandboxApp, demo_account
from runner.sandbox.clock import stopped
from runner.sandbox.roles import ROLES

NOW = datetime(2024, 5, 6, 12, tzinfo=timezone.utc)
# role -> (reads another team's service, notes their incident, notes its own team's incident,
#          changes its own team's service, creates a user-level change to another user)
EXPECTED = {
    "owner": (True, True, True, True, True),
    "admin": (True, True, True, True, True),
    "user": (True, True, True, True, False),
    "limited_user": (True, False, True, False, False),
    "restricted_access": (False, False, True, False, False),
    "observer": (True, False, False, False, False),
    "read_only_user": (True, False, False, False, False),
    "read_only_limited_user": (False, False, False, False, False),
}


@pytest.fixture
def account() -> Account:
    return demo_account(now=NOW, clock=stopped)


def as_user(app: SandboxApp, token: str) -> httpx2.Client:
    """Return a client using a user-level token, sending its user's email as `From` as the spec wants."""
    email = app.account.users[app.account.user_tokens[token]]["email"]
    headers = {"Authorization": f"Token token={token}", "From": email}
    return httpx2.Client(transport=httpx2.WSGITransport(app=app), base_url=SANDBOX_BASE_URL, headers=headers)


def service_change(account: Account, name: str) -> tuple[str, dict]:
    service = account.service_by_name(name)
    policy = {"id": service["escalation_policy"]["id"], "type": "escalation_policy_reference"}
    body = {"service": {"type": "service", "description": "New.", "escalation_policy": policy}}
    return f"/services/{service['id']}", body


def incident_of(account: Account, team: str) -> dict:
    return next(i for i in account.incidents.values() if [t["summary"] for t in i["teams"]] == [team])


def test_every_role_is_covered():
    assert set(EXPECTED) == set(ROLES)


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_a_role_reads_and_writes_as_pagerduty_documents(account, role):
    checkout = next(t for t in account.teams.values() if t["name"] == "Checkout")
    user = account.add_user("Role Tester", "role.tester@example.com", role=role, teams=[checkout])
    account.add_user_token("role-token", user)
    app = SandboxApp(account)
    payments_service = account.service_by_name("Payments API")
    colleague = account.user_by_email("taylor.kim@example.com")
    colleague_change = {"user": {"type": "user", "name": colleague["name"], "email": colleague["email"], "job_title": "Lead"}}
    note = {"note": {"content": "Looking."}}
    checkout_path, checkout_body = service_change(account, "Checkout Web")
    with as_user(app, "role-token") as client:
        outcomes = (
            client.get(f"/services/{payments_service['id']}").status_code,
            client.post(f"/incidents/{incident_of(account, 'Payments')['id']}/notes", json=note).status_code,
            client.post(f"/incidents/{incident_of(account, 'Checkout')['id']}/notes", json=note).status_code,
            client.put(checkout_path, json=checkout_body).status_code,
            client.put(f"/users/{colleague['id']}", json=colleague_change).status_code,
        )
        own = client.post(
            f"/users/{user['id']}/contact_methods",
            json={"contact_method": {"type": "email_contact_method", "label": "Home", "address": "rt@home.example"}},
        )
    assert tuple(status < 300 for status in outcomes) == EXPECTED[role]
    assert {status for status in outcomes if status >= 300} <= {403}
    assert own.status_code == 201  # everyone may change their own contact methods
    check_exchanges(app.exchanges)


def test_a_restricted_user_lists_only_their_teams_objects(account):
    user = account.user_by_email("omar.haddad@example.com")
    account.add_user_token("omar", user)
    app = SandboxApp(account)
    with as_user(app, "omar") as client:
        services = client.get("/services", params={"limit": 100}).json()["services"]
        incidents = client.get("/incidents", params={"limit": 100}).json()["incidents"]
        users = client.get("/users", params={"limit": 100}).json()["users"]
    assert {t["summary"] for s in services for t in s["teams"]} == {"Checkout"}
    assert incidents and {t["summary"] for i in incidents for t in i["teams"]} == {"Checkout"}
    assert len(users) == len(account.users)  # the directory is everyone's
    check_exchanges(app.exchanges)


def test_a_team_manager_configures_their_teams_objects(account):
    sam = account.user_by_email("sam.rivera@example.com")  # a responder managing Checkout
    assert sam["role"] == "limited_user" and account.managed_teams(sam) == {sam["teams"][0]["id"]}
    account.add_user_token("sam", sam)
    app = SandboxApp(account)
    with as_user(app, "sam") as client:
        path, body = service_change(account, "Cart Service")
        own = client.put(path, json=body)
        path, body = service_change(account, "Payments API")
        other = client.put(path, json=body)
    assert (own.status_code, other.status_code) == (200, 403)
    check_exchanges(app.exchanges)


@pytest.mark.parametrize("scheme", ["Token token=", "Bearer "])
def test_oauth_bearer_tokens_are_accepted_and_never_logged(account, scheme):
    account.add_user_token("oauth-user-token", account.user_by_email("sam.rivera@example.com"))
    app = SandboxApp(account)
    with httpx2.Client(transport=httpx2.WSGITransport(app=app), base_url=SANDBOX_BASE_URL) as client:
        account_wide = client.get("/abilities", headers={"Authorization": f"{scheme}{SANDBOX_TOKEN}"})
        me = client.get("/users/me", headers={"Authorization": f"{scheme}oauth-user-token"})
    assert account_wide.status_code == 200 and me.json()["user"]["name"] == "Sam Rivera"
    assert SANDBOX_TOKEN not in repr(app.exchanges) and "oauth-user-token" not in repr(app.exchanges)

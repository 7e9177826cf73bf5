"""The sandbox behaves like PagerDuty's REST API v2 where a client could notice."""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import httpx2
import pytest

from runner.sandbox import SANDBOX_BASE_URL, SANDBOX_TOKEN, Account, SandboxApp, demo_account
from runner.sandbox.demo import DEMO_FROM_EMAIL, DEMO_INCIDENT_ID, DEMO_TEAMLESS_SERVICES

NOW = datetime(2024, 5, 6, 12, tzinfo=timezone.utc)
AUTH = {"Authorization": f"Token token={SANDBOX_TOKEN}"}
AS_ADMIN = {"From": DEMO_FROM_EMAIL}


@pytest.fixture
def account() -> Account:
    return demo_account(now=NOW)


@pytest.fixture
def app(account: Account) -> SandboxApp:
    return SandboxApp(account)


def connect(app: SandboxApp, base_url: str = SANDBOX_BASE_URL) -> httpx2.Client:
    return httpx2.Client(transport=httpx2.WSGITransport(app=app), base_url=base_url, headers=AUTH)


@pytest.fixture
def client(app: SandboxApp):
    with connect(app) as client:
        yield client


def names(objects: list[dict]) -> list[str]:
    return [obj["name"] for obj in objects]


# The demo account


def test_demo_account_has_the_documented_shape(account):
    sizes = [len(account.teams), len(account.users), len(account.escalation_policies)]
    sizes += [len(account.schedules), len(account.services), len(account.incidents)]
    assert sizes == [5, 20, 8, 4, 25, 30]
    assert {i["status"] for i in account.incidents.values()} == {"triggered", "acknowledged", "resolved"}
    assert sum(len(notes) for notes in account.notes.values()) > 0
    rules = [rule for policy in account.escalation_policies.values() for rule in policy["escalation_rules"]]
    target_types = {target["type"] for rule in rules for target in rule["targets"]}
    assert target_types == {"user_reference", "schedule_reference"}


def test_demo_admin_is_alex_morgan(account):
    first = next(iter(account.users.values()))
    assert (first["name"], first["email"], first["role"]) == ("Alex Morgan", DEMO_FROM_EMAIL, "admin")
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+@example\.com", user["email"]) for user in account.users.values())


def test_planted_teamless_services_are_the_services_without_teams(account):
    teamless = [s["name"] for s in account.services.values() if not s["teams"]]
    assert teamless == list(DEMO_TEAMLESS_SERVICES) and len(teamless) == 6


def test_demo_incident_is_the_oldest_triggered_one(account):
    triggered = [i for i in account.incidents.values() if i["status"] == "triggered"]
    assert min(triggered, key=lambda i: i["created_at"])["id"] == DEMO_INCIDENT_ID


def test_demo_incidents_were_opened_in_the_days_before_now(account):
    opened = [datetime.fromisoformat(i["created_at"]) for i in account.incidents.values()]
    assert all(NOW - timedelta(days=7) < moment < NOW for moment in opened)


def test_demo_account_is_deterministic():
    assert demo_account(now=NOW) == demo_account(now=NOW)
    assert demo_account(now=NOW) != demo_account(now=NOW + timedelta(hours=1))


def test_ids_look_like_pagerduty_ids_and_are_unique(account):
    collections = ["teams", "users", "schedules", "escalation_policies", "services", "incidents"]
    ids = [obj_id for name in collections for obj_id in getattr(account, name)]
    ids += [note["id"] for notes in account.notes.values() for note in notes]
    assert all(re.fullmatch(r"P[0-9A-Z]{6}", obj_id) for obj_id in ids)
    assert len(set(ids)) == len(ids)


# Shaping an account


def test_account_methods_build_consistent_references():
    account = Account(now=NOW)
    team = account.add_team("SRE")
    user = account.add_user("Kim Park", "kim.park@example.com", teams=[team], role="admin")
    schedule = account.add_schedule("SRE Primary", users=[user], teams=[team])
    policy = account.add_escalation_policy("SRE", targets=[schedule], teams=[team])
    service = account.add_service("Edge", escalation_policy=policy, id="PEDGE01")
    incident = account.add_incident("Edge down", service=service)
    assert service["id"] == "PEDGE01" and service["teams"] == []
    assert [(ref["id"], ref["type"], ref["self"]) for ref in policy["services"]] == [
        (service["id"], "service_reference", service["self"])
    ]
    assert schedule["escalation_policies"][0]["id"] == policy["id"]
    assert [a["assignee"]["id"] for a in incident["assignments"]] == [user["id"]]
    assert user["teams"][0]["id"] == team["id"] and account.team_members[team["id"]][0]["role"] == "responder"


def test_account_rejects_duplicates_and_unknown_references():
    account = Account(now=NOW)
    account.add_user("Kim Park", "kim.park@example.com")
    with pytest.raises(ValueError):
        account.add_user("Kim Park", "KIM.PARK@example.com")
    with pytest.raises(KeyError):
        account.add_service("Edge", escalation_policy="PNOSUCH")


# Authentication and errors


@pytest.mark.parametrize("authorization", [None, "Token token=wrong", f"Bearer {SANDBOX_TOKEN}", SANDBOX_TOKEN])
def test_requests_without_the_token_are_refused(app, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    with httpx2.Client(transport=httpx2.WSGITransport(app=app), base_url=SANDBOX_BASE_URL) as client:
        response = client.get("/services", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == {"message": "Authentication failed", "code": 2006}


def test_a_custom_token_replaces_the_default(account):
    with connect(SandboxApp(account, token="s3cret")) as client:
        assert client.get("/teams").status_code == 401
        assert client.get("/teams", headers={"Authorization": "Token token=s3cret"}).status_code == 200


@pytest.mark.parametrize("path", ["/services/PNOSUCH", "/teams/PNOSUCH/members", "/incidents/PNOSUCH/notes", "/x"])
def test_unknown_objects_and_routes_are_not_found(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {"error": {"message": "Not Found", "code": 2100}}


def test_responses_are_json(client):
    response = client.get("/teams")
    assert response.headers["content-type"].startswith("application/json")
    assert set(response.json()) == {"teams", "limit", "offset", "total", "more"}


# Classic pagination


def test_pages_walk_the_whole_collection(client):
    pages = [client.get("/users", params={"limit": 7, "offset": offset}).json() for offset in (0, 7, 14)]
    assert [page["more"] for page in pages] == [True, True, False]
    assert [len(page["users"]) for page in pages] == [7, 7, 6]
    ids = [user["id"] for page in pages for user in page["users"]]
    assert len(set(ids)) == 20


def test_total_is_counted_only_when_asked(client):
    assert client.get("/services").json()["total"] is None
    assert client.get("/services", params={"total": "false"}).json()["total"] is None
    assert client.get("/services", params={"total": "true", "limit": 1}).json()["total"] == 25


def test_limit_defaults_to_25_and_is_capped_at_100(client):
    page = client.get("/incidents").json()
    assert (page["limit"], len(page["incidents"]), page["more"]) == (25, 25, True)
    assert client.get("/incidents", params={"limit": 1000}).json()["limit"] == 100


def test_lists_are_sorted_by_name(client):
    services = names(client.get("/services", params={"limit": 100}).json()["services"])
    assert services == sorted(services, key=str.casefold)


@pytest.mark.parametrize(("offset", "limit", "status"), [(9900, 100, 200), (9901, 100, 400), (10_000, 1, 400)])
def test_offset_plus_limit_may_not_pass_10000(client, offset, limit, status):
    response = client.get("/services", params={"offset": offset, "limit": limit})
    assert response.status_code == status
    if status == 400:
        assert response.json()["error"]["code"] == 2002
    else:
        assert response.json()["services"] == [] and response.json()["more"] is False


@pytest.mark.parametrize("params", [{"limit": "ten"}, {"offset": -1}, {"limit": 0}])
def test_bad_pagination_arguments_are_invalid_input(client, params):
    response = client.get("/teams", params=params)
    assert response.status_code == 400 and response.json()["error"]["code"] == 2001


# Filters and include[]


def test_team_ids_filter_accepts_repeated_and_comma_forms(client, account):
    payments, data = (t["id"] for t in account.teams.values() if t["name"] in ("Payments", "Data"))
    repeated = client.get("/services", params={"team_ids[]": [payments, data]}).json()["services"]
    comma = client.get("/services", params={"team_ids[]": f"{payments},{data}"}).json()["services"]
    assert repeated == comma
    assert {t["summary"] for s in repeated for t in s["teams"]} == {"Payments", "Data"}


def test_query_matches_names_case_insensitively(client):
    found = names(client.get("/services", params={"query": "api"}).json()["services"])
    assert found == ["Analytics API", "API Gateway", "Payments API"]
    assert names(client.get("/users", params={"query": "MORGAN@"}).json()["users"]) == ["Alex Morgan"]


def test_include_expands_teams_and_escalation_policies(client, account):
    plain = client.get("/services", params={"limit": 100}).json()["services"]
    included = client.get("/services", params={"limit": 100, "include[]": ["teams", "escalation_policies"]}).json()
    for before, after in zip(plain, included["services"]):
        assert [t["id"] for t in after["teams"]] == [t["id"] for t in before["teams"]]
        assert all(t["type"] == "team" and "name" in t for t in after["teams"])
        assert after["escalation_policy"] == account.escalation_policies[before["escalation_policy"]["id"]]
    assert all(t["type"] == "team_reference" for s in plain for t in s["teams"])


def test_include_on_one_service(client, account):
    service_id = next(s["id"] for s in account.services.values() if s["teams"])
    service = client.get(f"/services/{service_id}", params={"include[]": "teams"}).json()["service"]
    assert service["teams"][0] == account.teams[service["teams"][0]["id"]]


def test_incidents_filter_by_status_and_service(client, account):
    def listed(**params):
        return client.get("/incidents", params={"limit": 100, **params}).json()["incidents"]

    triggered = listed(**{"statuses[]": "triggered"})
    assert len(triggered) == 10 and {i["status"] for i in triggered} == {"triggered"}
    open_ones = listed(**{"statuses[]": ["triggered", "acknowledged"]})
    assert len(open_ones) == 18
    service = triggered[0]["service"]["id"]
    assert {i["service"]["id"] for i in listed(**{"service_ids[]": service})} == {service}
    oldest_first = sorted(account.incidents.values(), key=lambda incident: incident["created_at"])
    assert [i["id"] for i in listed()] == [incident["id"] for incident in oldest_first]


def _targeted_users(policy: dict) -> list[str]:
    targets = [target for rule in policy["escalation_rules"] for target in rule["targets"]]
    return [target["id"] for target in targets if target["type"] == "user_reference"]


@pytest.mark.parametrize(
    ("collection", "param", "keys"),
    [
        ("users", "team_ids[]", lambda user: [t["id"] for t in user["teams"]]),
        ("schedules", "team_ids[]", lambda schedule: [t["id"] for t in schedule["teams"]]),
        ("escalation_policies", "team_ids[]", lambda policy: [t["id"] for t in policy["teams"]]),
        ("escalation_policies", "user_ids[]", _targeted_users),
        ("incidents", "team_ids[]", lambda incident: [t["id"] for t in incident["teams"]]),
        ("incidents", "user_ids[]", lambda incident: [a["assignee"]["id"] for a in incident["assignments"]]),
        ("incidents", "urgencies[]", lambda incident: [incident["urgency"]]),
    ],
)
def test_list_filters_keep_the_matching_objects(client, collection, param, keys):
    everything = client.get(f"/{collection}", params={"limit": 100}).json()[collection]
    wanted = next(key for obj in everything for key in keys(obj))
    kept = client.get(f"/{collection}", params={"limit": 100, param: wanted}).json()[collection]
    assert kept == [obj for obj in everything if wanted in keys(obj)]
    assert 0 < len(kept) < len(everything)


def test_unknown_incident_status_is_invalid_input(client):
    response = client.get("/incidents", params={"statuses[]": "open"})
    assert response.status_code == 400 and response.json()["error"]["code"] == 2001


def test_incidents_default_to_the_last_30_days(client, account):
    service = next(iter(account.services))
    forty_days_ago = NOW - timedelta(days=40)
    old = account.add_incident("Forgotten", service=service, status="resolved", created_at=forty_days_ago)

    def ids(**params):
        return {i["id"] for i in client.get("/incidents", params={"limit": 100, **params}).json()["incidents"]}

    assert old["id"] not in ids() and len(ids()) == 30
    assert old["id"] in ids(date_range="all")
    day = timedelta(days=1)
    assert ids(since=(forty_days_ago - day).isoformat(), until=(forty_days_ago + day).isoformat()) == {old["id"]}
    assert ids(since="2024-05-06T09:00:00Z") == {
        i["id"] for i in account.incidents.values() if i["created_at"] >= "2024-05-06T09:00:00Z"
    }


def test_invalid_dates_are_invalid_input(client):
    response = client.get("/incidents", params={"since": "yesterday"})
    assert response.status_code == 400 and response.json()["error"]["code"] == 2001


def test_team_members_carry_roles(client, account):
    platform = next(t["id"] for t in account.teams.values() if t["name"] == "Platform")
    members = client.get(f"/teams/{platform}/members").json()["members"]
    assert [(m["user"]["summary"], m["role"]) for m in members][0] == ("Alex Morgan", "manager")
    assert {m["role"] for m in members[1:]} == {"responder"}


# Writes


def test_notes_round_trip(client, account):
    path = f"/incidents/{DEMO_INCIDENT_ID}/notes"
    response = client.post(path, json={"note": {"content": "Rolled back"}}, headers=AS_ADMIN)
    assert response.status_code == 200
    note = response.json()["note"]
    assert (note["content"], note["user"]["summary"]) == ("Rolled back", "Alex Morgan")
    assert note["created_at"] == "2024-05-06T12:00:00Z"  # the account's clock
    listed = client.get(path).json()["notes"]
    assert listed == [note] == account.notes[DEMO_INCIDENT_ID]


def test_status_updates_are_kept_in_the_account(client, account):
    body = {"message": "Mitigated", "subject": "Checkout", "html_message": "<p>Mitigated</p>"}
    response = client.post(f"/incidents/{DEMO_INCIDENT_ID}/status_updates", json=body, headers=AS_ADMIN)
    assert response.status_code == 200
    update = response.json()["status_update"]
    assert {k: update[k] for k in body} == body and update["sender"]["summary"] == "Alex Morgan"
    assert account.status_updates[DEMO_INCIDENT_ID] == [update]


def test_writes_need_a_from_header_naming_a_user(client, account):
    path = f"/incidents/{DEMO_INCIDENT_ID}/notes"
    missing = client.post(path, json={"note": {"content": "x"}})
    stranger = client.post(path, json={"note": {"content": "x"}}, headers={"From": "nobody@example.com"})
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, 2016)
    assert (stranger.status_code, stranger.json()["error"]["code"]) == (400, 2001)
    assert account.notes[DEMO_INCIDENT_ID] == []


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("notes", {"note": {}}),
        ("notes", "not a note"),
        ("status_updates", {"subject": "no message"}),
        ("status_updates", {"message": "m", "subject": "an email subject without its html_message"}),
    ],
)
def test_writes_without_content_are_invalid_input(client, path, body):
    response = client.post(f"/incidents/{DEMO_INCIDENT_ID}/{path}", json=body, headers=AS_ADMIN)
    assert response.status_code == 400 and response.json()["error"]["code"] == 2001


def test_writes_to_unknown_incidents_are_not_found(client):
    response = client.post("/incidents/PNOSUCH/notes", json={"note": {"content": "x"}}, headers=AS_ADMIN)
    assert response.status_code == 404


# Links and the exchange log


def test_self_links_follow_the_base_url_the_client_used(app, account):
    with connect(app, "http://127.0.0.1:8080") as client:
        incident = client.get(f"/incidents/{DEMO_INCIDENT_ID}").json()["incident"]
    assert incident["self"] == f"http://127.0.0.1:8080/incidents/{DEMO_INCIDENT_ID}"
    assert incident["service"]["self"].startswith("http://127.0.0.1:8080/services/")
    assert incident["html_url"] == f"https://pdrun-sandbox.pagerduty.com/incidents/{DEMO_INCIDENT_ID}"
    assert account.incidents[DEMO_INCIDENT_ID]["self"] == f"{SANDBOX_BASE_URL}/incidents/{DEMO_INCIDENT_ID}"


def test_exchange_log_records_requests_and_never_the_token(client, app):
    client.get("/services", params={"statuses[]": ["a", "b"]})
    client.post(f"/incidents/{DEMO_INCIDENT_ID}/notes", json={"note": {"content": "x"}}, headers=AS_ADMIN)
    client.get("/services", headers={"Authorization": "Token token=wrong"})
    assert [(e.method, e.path, e.status) for e in app.exchanges] == [
        ("GET", "/services", 200),
        ("POST", f"/incidents/{DEMO_INCIDENT_ID}/notes", 200),
        ("GET", "/services", 401),
    ]
    first, post, _ = app.exchanges
    assert first.query["statuses[]"] == ["a", "b"] and first.headers["authorization"] == "[redacted]"
    assert post.headers["from"] == DEMO_FROM_EMAIL and post.body == b'{"note":{"content":"x"}}'
    assert b'"content": "x"' in post.response_body
    assert post.response_headers["content-type"].startswith("application/json")
    assert SANDBOX_TOKEN not in repr(app.exchanges) and "wrong" not in repr(app.exchanges)


def test_concurrent_requests_are_all_logged(app):
    with connect(app) as client, ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: client.get("/users").status_code, range(40)))
    assert statuses == [200] * 40 and len(app.exchanges) == 40


def test_importing_the_sandbox_stays_light():
    heavy = ("pagerduty", "httpx2", "openapi_core", "sqlalchemy")
    code = f"import sys, runner.sandbox; print([m for m in {heavy!r} if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"

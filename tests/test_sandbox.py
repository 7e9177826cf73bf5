"""The sandbox behaves like PagerDuty's REST API v2 where a client could notice."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import httpx2
import pytest

from docs import sandbox_doc
from runner.sandbox import (
    SANDBOX_BASE_URL,
    SANDBOX_TOKEN,
    Account,
    SandboxApp,
    demo_account,
)
from runner.sandbox.clock import stopped
from runner.sandbox.demo import (
    DEMO_FROM_EMAIL,
    DEMO_INCIDENT_ID,
    DEMO_ROUTING_KEY,
    DEMO_TEAMLESS_SERVICES,
    DEMO_USER_TOKEN,
)
from runner.sandbox.routes import endpoint_table

NOW = datetime(2024, 5, 6, 12, tzinfo=timezone.utc)
AUTH = {"Authorization": f"Token token={SANDBOX_TOKEN}"}
AS_ADMIN = {"From": DEMO_FROM_EMAIL}


@pytest.fixture
def account() -> Account:
    return demo_account(now=NOW, clock=stopped)


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
    assert sizes == [6, 22, 10, 6, 25, 30]
    assert {i["status"] for i in account.incidents.values()} == {"triggered", "acknowledged", "resolved"}
    assert sum(len(notes) for notes in account.notes.values()) > 0
    rules = [rule for policy in account.escalation_policies.values() for rule in policy["escalation_rules"]]
    target_types = {target["type"] for rule in rules for target in rule["targets"]}
    assert target_types == {"user_reference", "schedule_reference"}


def test_demo_owner_is_alex_morgan(account):
    first = next(iter(account.users.values()))
    assert (first["name"], first["email"], first["role"]) == ("Alex Morgan", DEMO_FROM_EMAIL, "owner")
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


@pytest.mark.parametrize("authorization", [None, "Token token=wrong", "Bearer wrong", f"Token {SANDBOX_TOKEN}", SANDBOX_TOKEN])
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
    pages = [client.get("/users", params={"limit": 8, "offset": offset}).json() for offset in (0, 8, 16)]
    assert [page["more"] for page in pages] == [True, True, False]
    assert [len(page["users"]) for page in pages] == [8, 8, 6]
    ids = [user["id"] for page in pages for user in page["users"]]
    assert len(set(ids)) == 22


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


# Schedules and on-calls


def schedule_named(client, name: str, **params) -> dict:
    found = client.get("/schedules", params={"query": name}).json()["schedules"][0]
    return client.get(f"/schedules/{found['id']}", params=params).json()["schedule"]


def test_a_weekly_rotation_covers_the_window_turn_by_turn(client):
    schedule = schedule_named(client, "Data Weekly", since="2024-05-06T12:00:00Z", until="2024-05-27T12:00:00Z")
    final = schedule["final_schedule"]
    assert final["name"] == "Final Schedule" and final["rendered_coverage_percentage"] == 100
    entries = final["rendered_schedule_entries"]
    assert (entries[0]["start"], entries[-1]["end"]) == ("2024-05-06T12:00:00Z", "2024-05-27T12:00:00Z")
    assert all(a["end"] == b["start"] for a, b in zip(entries, entries[1:]))
    assert len({e["user"]["id"] for e in entries}) == 3
    assert schedule["schedule_layers"][0]["rendered_coverage_percentage"] == 100


def test_restricted_hours_leave_gaps(client):
    schedule = schedule_named(client, "Mobile Rotation", since="2024-05-08T00:00:00Z", until="2024-05-10T00:00:00Z")
    final = schedule["final_schedule"]
    assert final["rendered_coverage_percentage"] == 50
    hours = [(e["start"][11:16], e["end"][11:16]) for e in final["rendered_schedule_entries"]]
    assert hours == [("08:00", "20:00")] * 2


def test_overrides_take_precedence_over_layers(client):
    schedule = schedule_named(client, "Platform Primary", since="2024-05-07T00:00:00Z", until="2024-05-10T00:00:00Z")
    overrides = schedule["overrides_subschedule"]["rendered_schedule_entries"]
    assert [(o["user"]["summary"], o["start"], o["end"]) for o in overrides] == [
        ("Alex Morgan", "2024-05-07T12:00:00Z", "2024-05-09T12:00:00Z")
    ]
    final = schedule["final_schedule"]["rendered_schedule_entries"]
    assert overrides[0] in final and final[0]["end"] == overrides[0]["start"]


@pytest.mark.parametrize(
    ("params", "window"),
    [
        ({}, ("2024-05-06T12:00:00Z", "2024-05-20T12:00:00Z")),
        ({"since": "2024-05-10T00:00:00Z"}, ("2024-05-10T00:00:00Z", "2024-05-24T00:00:00Z")),
        ({"until": "2024-05-10T00:00:00Z"}, ("2024-04-26T00:00:00Z", "2024-05-10T00:00:00Z")),
    ],
)
def test_the_schedule_window_defaults_to_two_weeks(client, params, window):
    entries = schedule_named(client, "Data Weekly", **params)["final_schedule"]["rendered_schedule_entries"]
    assert (entries[0]["start"], entries[-1]["end"]) == window


def test_overflow_keeps_whole_shifts(client):
    window = {"since": "2024-05-07T00:00:00Z", "until": "2024-05-07T01:00:00Z"}
    cut = schedule_named(client, "Data Weekly", **window)["final_schedule"]["rendered_schedule_entries"]
    overflowing = schedule_named(client, "Data Weekly", **window, overflow="true")
    whole = overflowing["final_schedule"]["rendered_schedule_entries"]
    assert (cut[0]["start"], cut[0]["end"]) == (window["since"], window["until"])
    assert whole[0]["start"] < window["since"] and whole[0]["end"] > window["until"]


def test_schedules_list_renders_only_with_a_window(client):
    plain = client.get("/schedules").json()["schedules"]
    rendered = client.get("/schedules", params={"since": "2024-05-06T12:00:00Z"}).json()["schedules"]
    assert all("final_schedule" not in s for s in plain)
    assert all(s["final_schedule"]["rendered_coverage_percentage"] >= 0 for s in rendered)


def test_a_layer_that_ends_leaves_a_gap():
    account = Account(now=NOW)
    user = account.add_user("Kim Park", "kim.park@example.com")
    schedule = account.add_schedule("Ends Soon", users=[user])
    schedule["schedule_layers"][0]["end"] = "2024-05-13T12:00:00Z"
    with connect(SandboxApp(account)) as client:
        final = client.get(f"/schedules/{schedule['id']}").json()["schedule"]["final_schedule"]
    assert final["rendered_coverage_percentage"] == 50


def test_invalid_schedule_window_is_invalid_input(client):
    schedule = next(iter(client.get("/schedules").json()["schedules"]))
    backwards = {"since": "2024-05-07T00:00:00Z", "until": "2024-05-06T00:00:00Z"}
    response = client.get(f"/schedules/{schedule['id']}", params=backwards)
    assert response.status_code == 400 and response.json()["error"]["code"] == 2001


def test_oncalls_follow_schedules_and_direct_targets(client, account):
    oncalls = client.get("/oncalls", params={"limit": 100}).json()["oncalls"]
    data = next(p for p in account.escalation_policies.values() if p["name"] == "Data Escalation")
    mine = [o for o in oncalls if o["escalation_policy"]["id"] == data["id"]]
    assert [(o["escalation_level"], o["schedule"] and o["schedule"]["summary"]) for o in mine] == [
        (1, "Data Weekly"),
        (2, None),
    ]
    scheduled, direct = mine
    assert scheduled["start"] <= "2024-05-06T12:00:00Z" < scheduled["end"]
    assert (direct["user"]["summary"], direct["start"], direct["end"]) == ("Elena Petrova", None, None)


def test_oncall_filters(client, account):
    weekly = next(s["id"] for s in account.schedules.values() if s["name"] == "Data Weekly")
    week = {"since": "2024-05-06T12:00:00Z", "until": "2024-05-27T12:00:00Z", "limit": 100}
    from_schedule = client.get("/oncalls", params={**week, "schedule_ids[]": weekly}).json()["oncalls"]
    assert {o["schedule"]["id"] for o in from_schedule} == {weekly} and len(from_schedule) == 4
    earliest = client.get("/oncalls", params={**week, "schedule_ids[]": weekly, "earliest": "true"}).json()["oncalls"]
    assert len(earliest) == 3 and len({o["user"]["id"] for o in earliest}) == 3
    user = earliest[0]["user"]["id"]
    assert {o["user"]["id"] for o in client.get("/oncalls", params={"user_ids[]": user}).json()["oncalls"]} == {user}
    direct_only = client.get("/oncalls", params={"schedule_ids[]": "null", "limit": 100}).json()["oncalls"]
    assert direct_only and all(o["schedule"] is None for o in direct_only)


# Users


def test_users_include_contact_methods_and_notification_rules(client):
    params = {"include[]": ["contact_methods", "notification_rules"], "query": "alex"}
    (user,) = client.get("/users", params=params).json()["users"]
    assert [m["type"] for m in user["contact_methods"]] == [
        "email_contact_method",
        "phone_contact_method",
        "push_notification_contact_method",
    ]
    assert user["contact_methods"][0]["address"] == DEMO_FROM_EMAIL
    rules = user["notification_rules"]
    assert {(r["contact_method"]["type"], r["urgency"]) for r in rules} >= {("phone_contact_method_reference", "high")}
    plain = client.get(f"/users/{user['id']}").json()["user"]
    assert {m["type"] for m in plain["contact_methods"]} == {m["type"] + "_reference" for m in user["contact_methods"]}


def test_users_me_needs_a_user_token(client):
    me = client.get("/users/me", headers={"Authorization": f"Token token={DEMO_USER_TOKEN}"})
    assert me.status_code == 200 and me.json()["user"]["name"] == "Sam Rivera"
    account_level = client.get("/users/me")
    assert account_level.status_code == 400 and "account-level" in account_level.json()["error"]["errors"][0]


# Services: create, update, delete


NEW_SERVICE = {"name": "Search v3", "type": "service", "description": "Replaces Old Search."}


def policy_named(account: Account, name: str) -> dict:
    return next(p for p in account.escalation_policies.values() if p["name"] == name)


def ref(obj: dict) -> dict:
    return {"id": obj["id"], "type": f"{obj['type']}_reference"}


def test_a_service_is_created_with_its_policy_teams(client, account):
    policy = policy_named(account, "Data Escalation")
    body = {"service": {**NEW_SERVICE, "escalation_policy": ref(policy)}}
    response = client.post("/services", json=body)
    assert response.status_code == 201
    service = response.json()["service"]
    assert (service["name"], service["status"], service["integrations"]) == ("Search v3", "active", [])
    assert service["teams"] == policy["teams"] and service["id"] in {s["id"] for s in policy["services"]}
    assert client.get(f"/services/{service['id']}").json()["service"] == service


@pytest.mark.parametrize(
    "body",
    [
        {"service": {**NEW_SERVICE, "escalation_policy": {"id": "PNOSUCH", "type": "escalation_policy_reference"}}},
        {"service": {**NEW_SERVICE, "name": "API Gateway", "escalation_policy": {"id": "{policy}"}}},
        {"service": {"type": "service", "escalation_policy": {"id": "{policy}"}}},
        {"name": "not wrapped"},
    ],
    ids=["unknown policy", "name taken", "no name", "no wrapper"],
)
def test_invalid_services_are_refused(client, account, body):
    policy = next(iter(account.escalation_policies))
    body = json.loads(json.dumps(body).replace("{policy}", policy))
    response = client.post("/services", json=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == 2001
    assert len(account.services) == 25


def test_a_service_is_updated_and_moved_to_another_policy(client, account):
    service = account.service_by_name("Ledger")
    mobile = policy_named(account, "Mobile Escalation")
    change = {"name": "Payments Ledger", "escalation_policy": ref(mobile)}
    response = client.put(f"/services/{service['id']}", json={"service": change})
    assert response.status_code == 200
    updated = response.json()["service"]
    assert (updated["name"], updated["summary"], updated["escalation_policy"]["id"]) == (
        "Payments Ledger",
        "Payments Ledger",
        mobile["id"],
    )
    assert [t["summary"] for t in updated["teams"]] == ["Mobile"]
    payments = policy_named(account, "Payments Escalation")
    assert service["id"] not in {s["id"] for s in payments["services"]}
    assert service["id"] in {s["id"] for s in mobile["services"]}


def test_a_service_update_checks_types(client, account):
    service = next(iter(account.services))
    response = client.put(f"/services/{service}", json={"service": {"auto_resolve_timeout": "soon"}})
    assert response.status_code == 400


def test_a_deleted_service_is_gone(client, account):
    service = account.service_by_name("Ledger")
    assert client.delete(f"/services/{service['id']}").status_code == 204
    assert client.get(f"/services/{service['id']}").status_code == 404
    assert client.delete(f"/services/{service['id']}").status_code == 404
    assert service["id"] not in {s["id"] for s in policy_named(account, "Payments Escalation")["services"]}


# Incidents: updates, log entries


def test_acknowledging_and_resolving_an_incident(client, account):
    path = f"/incidents/{DEMO_INCIDENT_ID}"
    acknowledge = {"incident": {"type": "incident_reference", "status": "acknowledged"}}
    acked = client.put(path, json=acknowledge, headers=AS_ADMIN)
    assert acked.status_code == 200
    incident = acked.json()["incident"]
    assert incident["status"] == "acknowledged" and incident["last_status_change_at"] == "2024-05-06T12:00:00Z"
    assert incident["acknowledgements"][-1]["acknowledger"]["summary"] == "Alex Morgan"
    resolved = client.put(path, json={"incident": {"type": "incident", "status": "resolved"}}, headers=AS_ADMIN)
    incident = resolved.json()["incident"]
    assert (incident["status"], incident["resolved_at"]) == ("resolved", "2024-05-06T12:00:00Z")
    assert incident["assignments"] == []
    kinds = [e["type"] for e in client.get(f"{path}/log_entries").json()["log_entries"]]
    assert kinds == ["resolve_log_entry", "acknowledge_log_entry"] + ["notify_log_entry"] * 4 + [
        "assign_log_entry",
        "trigger_log_entry",
    ]
    again = client.put(path, json={"incident": {"type": "incident", "status": "acknowledged"}}, headers=AS_ADMIN)
    assert again.status_code == 400 and again.json()["error"]["errors"] == ["Incident Already Resolved"]


def test_reassigning_an_incident(client, account):
    path = f"/incidents/{DEMO_INCIDENT_ID}"
    target = next(u for u in account.users.values() if u["name"] == "Grace Chen")
    body = {"incident": {"type": "incident", "assignments": [{"assignee": ref(target)}]}}
    incident = client.put(path, json=body, headers=AS_ADMIN).json()["incident"]
    assert [a["assignee"]["id"] for a in incident["assignments"]] == [target["id"]]
    assert incident["assigned_via"] == "direct_assignment"
    legacy = policy_named(account, "Legacy Default")
    body = {"incident": {"type": "incident", "escalation_policy": ref(legacy)}}
    incident = client.put(path, json=body, headers=AS_ADMIN).json()["incident"]
    assert incident["escalation_policy"]["id"] == legacy["id"] and incident["assigned_via"] == "escalation_policy"
    assert [a["assignee"]["summary"] for a in incident["assignments"]] == ["Priya Shah"]


def test_bulk_updates_change_every_incident_or_none(client, account):
    triggered = [i["id"] for i in account.incidents.values() if i["status"] == "triggered"]
    refs = [{"id": i, "type": "incident_reference", "status": "acknowledged"} for i in triggered]
    response = client.put("/incidents", json={"incidents": refs}, headers=AS_ADMIN)
    assert response.status_code == 200
    assert {i["status"] for i in response.json()["incidents"]} == {"acknowledged"}
    resolved = next(i["id"] for i in account.incidents.values() if i["status"] == "resolved")
    mixed = [
        {"id": triggered[0], "type": "incident_reference", "status": "resolved"},
        {"id": resolved, "type": "incident_reference", "status": "acknowledged"},
    ]
    assert client.put("/incidents", json={"incidents": mixed}, headers=AS_ADMIN).status_code == 400
    assert account.incidents[triggered[0]]["status"] == "acknowledged"


def test_bulk_updates_stop_at_250(client, account):
    refs = [{"id": DEMO_INCIDENT_ID, "type": "incident_reference", "status": "acknowledged"}]
    assert client.put("/incidents", json={"incidents": refs * 250}, headers=AS_ADMIN).status_code == 200
    too_many = client.put("/incidents", json={"incidents": refs * 251}, headers=AS_ADMIN)
    assert too_many.status_code == 413 and too_many.json()["error"]["code"] == 2001


def test_incident_updates_need_from(client):
    body = {"incident": {"type": "incident", "status": "acknowledged"}}
    assert client.put(f"/incidents/{DEMO_INCIDENT_ID}", json=body).json()["error"]["code"] == 2016


def test_an_incident_is_found_by_number(client):
    incident = client.get("/incidents/21").json()["incident"]
    assert (incident["id"], incident["incident_number"]) == (DEMO_INCIDENT_ID, 21)
    assert client.get("/incidents/999").status_code == 404


def test_incidents_sort_and_include(client):
    params = {"sort_by": "urgency:desc,created_at:desc", "limit": 100}
    listed = client.get("/incidents", params=params).json()["incidents"]
    assert [i["urgency"] for i in listed] == sorted((i["urgency"] for i in listed), reverse=True)
    lows = [i["created_at"] for i in listed if i["urgency"] == "low"]
    assert lows == sorted(lows, reverse=True)
    assert client.get("/incidents", params={"sort_by": "title"}).status_code == 400
    params = {"include[]": ["first_trigger_log_entries", "assignees"], "limit": 1}
    (incident,) = client.get("/incidents", params=params).json()["incidents"]
    assert incident["first_trigger_log_entry"]["type"] == "trigger_log_entry"
    assert incident["first_trigger_log_entry"]["created_at"] == incident["created_at"]


def test_incidents_by_key(client, account):
    incident = account.incidents[DEMO_INCIDENT_ID]
    found = client.get("/incidents", params={"incident_key": incident["incident_key"]}).json()["incidents"]
    assert [i["id"] for i in found] == [DEMO_INCIDENT_ID]


def test_account_log_entries_are_newest_first_and_filterable(client, account):
    entries = client.get("/log_entries", params={"limit": 100}).json()["log_entries"]
    stamps = [e["created_at"] for e in entries]
    assert stamps == sorted(stamps, reverse=True)
    recent = client.get("/log_entries", params={"since": "2024-05-06T09:00:00Z"}).json()["log_entries"]
    assert recent and all(e["created_at"] >= "2024-05-06T09:00:00Z" for e in recent)
    overview = client.get("/log_entries", params={"is_overview": "true", "limit": 100}).json()["log_entries"]
    assert {e["type"] for e in overview} == {"trigger_log_entry", "acknowledge_log_entry", "resolve_log_entry"}
    one = client.get(f"/log_entries/{entries[0]['id']}").json()["log_entry"]
    assert one == entries[0]


def test_notes_are_logged(client):
    client.post(f"/incidents/{DEMO_INCIDENT_ID}/notes", json={"note": {"content": "Looking"}}, headers=AS_ADMIN)
    latest = client.get(f"/incidents/{DEMO_INCIDENT_ID}/log_entries").json()["log_entries"][0]
    assert (latest["type"], latest["agent"]["summary"]) == ("annotate_log_entry", "Alex Morgan")


# Audit records


def test_audit_records_page_by_cursor(client, account):
    for n in range(3):
        service = account.service_by_name("Ledger")["id"]
        client.put(f"/services/{service}", json={"service": {"description": f"v{n}"}}, headers=AS_ADMIN)
    records, cursor = [], None
    while True:
        page = client.get("/audit/records", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        records += page["records"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(records) == 3 and {r["action"] for r in records} == {"update"}
    assert records[0]["details"]["fields"] == [{"name": "description", "before_value": "v1", "value": "v2"}]
    assert records[0]["actors"][0]["type"] == "api_key_reference"
    assert records[0]["method"] == {"type": "api_token", "truncated_token": SANDBOX_TOKEN[-4:]}


def test_audit_records_of_setup_and_filters(client, account):
    window = {"since": "2024-02-06T00:00:00Z", "until": "2024-02-07T00:00:00Z", "limit": 100}
    created = client.get("/audit/records", params=window).json()["records"]
    kinds = (account.teams, account.users, account.schedules, account.escalation_policies, account.services)
    assert len(created) == sum(map(len, kinds))
    teams = client.get("/audit/records", params={**window, "root_resource_types[]": "teams"}).json()["records"]
    assert {r["root_resource"]["type"] for r in teams} == {"team_reference"} and len(teams) == 6
    assert client.get("/audit/records", params={**window, "actions[]": "delete"}).json()["records"] == []


@pytest.mark.parametrize(
    "params",
    [{"since": "2024-01-01T00:00:00Z", "until": "2024-03-01T00:00:00Z"}, {"cursor": "nonsense"}, {"actor_id": "P1"}],
)
def test_bad_audit_queries_are_invalid_input(client, params):
    assert client.get("/audit/records", params=params).status_code == 400


# User-level tokens


def user_client(app: SandboxApp) -> httpx2.Client:
    return httpx2.Client(
        transport=httpx2.WSGITransport(app=app),
        base_url=SANDBOX_BASE_URL,
        headers={"Authorization": f"Token token={DEMO_USER_TOKEN}"},
    )


def test_a_user_token_acts_as_its_user(app, account):
    checkout = next(i for i in account.incidents.values() if i["service"]["summary"] == "Checkout Web")
    with user_client(app) as client:
        note = client.post(f"/incidents/{checkout['id']}/notes", json={"note": {"content": "on it"}})
    assert note.status_code == 200 and note.json()["note"]["user"]["summary"] == "Sam Rivera"


def test_a_responder_reads_everything_but_acts_only_on_their_teams_incidents(app, account):
    payments = account.service_by_name("Payments API")
    theirs = next(i for i in account.incidents.values() if i["service"]["id"] == payments["id"])
    with user_client(app) as client:
        assert client.get(f"/services/{payments['id']}").status_code == 200
        assert client.get(f"/incidents/{theirs['id']}").status_code == 200
        denied = client.post(f"/incidents/{theirs['id']}/notes", json={"note": {"content": "x"}})
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, 2010)


def test_user_tokens_are_added_to_the_app(account):
    user = next(iter(account.users))
    app = SandboxApp(account, user_tokens={"alex-token": user})
    with httpx2.Client(transport=httpx2.WSGITransport(app=app), base_url=SANDBOX_BASE_URL) as client:
        me = client.get("/users/me", headers={"Authorization": "Token token=alex-token"})
    assert me.json()["user"]["id"] == user


# The Events API


def enqueue(app: SandboxApp, **event) -> httpx2.Response:
    with httpx2.Client(transport=httpx2.WSGITransport(app=app), base_url=SANDBOX_BASE_URL) as client:
        return client.post("/v2/enqueue", json={"routing_key": DEMO_ROUTING_KEY, **event})


TRIGGER = {"event_action": "trigger", "payload": {"summary": "Edge down", "source": "lb-1", "severity": "critical"}}


def test_events_open_and_close_an_incident(app, account):
    first = enqueue(app, **TRIGGER, dedup_key="edge")
    assert first.status_code == 202
    assert first.json() == {"status": "success", "message": "Event processed", "dedup_key": "edge"}
    enqueue(app, **TRIGGER, dedup_key="edge")
    opened = [i for i in account.incidents.values() if i["incident_key"] == "edge"]
    assert len(opened) == 1 and opened[0]["service"]["summary"] == "API Gateway" and opened[0]["title"] == "Edge down"
    enqueue(app, event_action="acknowledge", dedup_key="edge")
    assert opened[0]["status"] == "acknowledged" and account.alerts["edge"]["status"] == "triggered"
    enqueue(app, event_action="resolve", dedup_key="edge")
    assert opened[0]["status"] == "resolved" and account.alerts["edge"]["status"] == "resolved"
    assert [e["event_action"] for e in account.events] == ["trigger", "trigger", "acknowledge", "resolve"]
    assert account.alerts["edge"]["payload"] == TRIGGER["payload"]


def test_events_need_no_rest_token_and_get_a_dedup_key(app, account):
    response = enqueue(app, **TRIGGER)
    key = response.json()["dedup_key"]
    assert response.status_code == 202 and key in account.alerts


def test_events_on_unknown_keys_do_nothing(app, account):
    assert enqueue(app, event_action="resolve", dedup_key="never-seen").status_code == 202
    assert account.alerts == {} and len(account.incidents) == 30


@pytest.mark.parametrize(
    ("event", "error"),
    [
        ({"routing_key": "0" * 32, **TRIGGER}, "Invalid routing key"),
        ({"event_action": "explode"}, "'event_action' must be one of trigger, acknowledge, resolve"),
        ({"event_action": "resolve"}, "'dedup_key' is required to acknowledge or resolve"),
        (
            {"event_action": "trigger", "payload": {"summary": "x", "source": "y", "severity": "bad"}},
            "'payload.severity' must be one of critical, error, warning, info",
        ),
    ],
)
def test_invalid_events_are_refused(app, account, event, error):
    response = enqueue(app, **event)
    assert response.status_code == 400
    assert response.json()["status"] == "invalid event" and error in response.json()["errors"]
    assert account.events == []


def test_unparsable_events_are_refused(app):
    with httpx2.Client(transport=httpx2.WSGITransport(app=app), base_url=SANDBOX_BASE_URL) as client:
        response = client.post("/v2/enqueue", content=b"{not json")
    assert response.status_code == 400 and response.json()["errors"] == ["JSON parse error"]


# Standards


def test_standards_scores(client, account):
    standards = client.get("/standards").json()["standards"]
    assert len(standards) == 5 and all(s["resource_type"] == "technical_service" for s in standards)
    k8s, gateway = account.service_by_name("Kubernetes Cluster"), account.service_by_name("API Gateway")
    scores = client.get("/standards/scores/technical_services", params={"ids": [k8s["id"], gateway["id"]]}).json()
    assert [(r["resource_id"], r["score"]) for r in scores["resources"]] == [
        (k8s["id"], {"passing": 3, "total": 5}),
        (gateway["id"], {"passing": 5, "total": 5}),
    ]
    assert client.get("/standards/scores/technical_services", params={"ids": ["P"] * 101}).status_code == 400
    assert client.get("/standards/scores/business_services", params={"ids": k8s["id"]}).status_code == 404


# The endpoint table


def test_the_docs_show_the_endpoint_table():
    assert endpoint_table() in sandbox_doc()

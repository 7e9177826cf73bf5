"""The hygiene audit the way it is usually scripted: the `pagerduty` client's iter_all, one audit after another.

Each audit fetches what it needs for itself, page after page, and the client
handles 429s its own way. Only two things are added for the benchmark: a
transport that reaches the local sandbox over plain HTTP (the client accepts
only https:// base URLs), and event hooks that count requests and 429s.

usage: baseline_audit.py BASE_URL TOKEN  -> prints one JSON line of counts
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

import httpx2
import pagerduty


class PlainHttp(httpx2.HTTPTransport):
    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        request.url = request.url.copy_with(scheme="http")
        return super().handle_request(request)


def main(base_url: str, token: str) -> None:
    counts = {"requests": 0, "429": 0, "findings": 0}

    def count(response: httpx2.Response) -> None:
        counts["requests"] += 1
        counts["429"] += response.status_code == 429

    session = pagerduty.RestApiV2Client(
        token, base_url=base_url.replace("http://", "https://"), transport=PlainHttp(), event_hooks={"response": [count]}
    )
    now = datetime.now(UTC)
    audits = [
        lambda: [s for s in session.iter_all("services") if not s["teams"]],
        lambda: [s for s in session.iter_all("services") if not s["integrations"]],
        lambda: [
            s for s in session.iter_all("services")
            if s["status"] != "disabled"
            and (not s["last_incident_timestamp"]
                 or datetime.fromisoformat(s["last_incident_timestamp"].replace("Z", "+00:00")) < now - timedelta(days=30))
        ],
        lambda: [s for s in session.iter_all("services") if s["status"] == "disabled"],
        lambda: standards(session),
        lambda: [p for p in session.iter_all("escalation_policies") if not p["services"]],
        lambda: [p for p in session.iter_all("escalation_policies") if len(p["escalation_rules"]) == 1],
        lambda: gaps(session, now),
        lambda: [s for s in session.iter_all("schedules") if not s["escalation_policies"]],
        lambda: [
            u for u in session.iter_all("users", params={"include[]": ["contact_methods", "notification_rules"]})
            if not u["contact_methods"]
        ],
        lambda: orphans(session),
        lambda: empty_teams(session),
        lambda: [
            i for i in session.iter_all("incidents", params={"statuses[]": ["triggered", "acknowledged"], "date_range": "all"})
            if datetime.fromisoformat(i["created_at"].replace("Z", "+00:00")) < now - timedelta(hours=24)
        ],
    ]
    for audit in audits:
        counts["findings"] += len(audit())
    print(json.dumps(counts))


def standards(session: pagerduty.RestApiV2Client) -> list:
    ids = [s["id"] for s in session.iter_all("services")]
    low = []
    for start in range(0, len(ids), 100):
        scores = session.jget("standards/scores/technical_services", params={"ids": tuple(ids[start : start + 100])})
        low += [r for r in scores["resources"] if r["score"]["passing"] / r["score"]["total"] < 0.8]
    return low


def gaps(session: pagerduty.RestApiV2Client, now: datetime) -> list:
    window = {"since": now.isoformat(), "until": (now + timedelta(days=14)).isoformat()}
    return [
        s for s in session.iter_all("schedules")
        if session.rget(f"schedules/{s['id']}", params=window)["final_schedule"]["rendered_coverage_percentage"] < 100
    ]


def orphans(session: pagerduty.RestApiV2Client) -> list:
    scheduled = {u["id"] for s in session.iter_all("schedules") for u in s["users"]}
    targeted = {
        t["id"] for p in session.iter_all("escalation_policies") for r in p["escalation_rules"] for t in r["targets"]
    }
    return [u for u in session.iter_all("users") if not u["teams"] and u["id"] not in scheduled | targeted]


def empty_teams(session: pagerduty.RestApiV2Client) -> list:
    staffed = {t["id"] for u in session.iter_all("users") for t in u["teams"]}
    return [t for t in session.iter_all("teams") if t["id"] not in staffed]


if __name__ == "__main__":
    main(*sys.argv[1:3])

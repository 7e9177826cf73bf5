"""users-invitation-pending, licenses-unused, users-weak-notification-rules and services-noise-settings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

PROFILES = Path(__file__).parent / "profiles"
PEOPLE = pytest.mark.pd_profile(str(PROFILES / "people.toml"))


def found(result) -> list[tuple[str, str]]:
    return sorted((f.object.summary, f.message) for f in result.findings)


def reads(sandbox) -> list[str]:
    return [e.path for e in sandbox.exchanges]


@PEOPLE
def test_invitations_pending_past_the_days(pd_run, pd_sandbox):
    assert found(pd_run("users-invitation-pending")) == [
        ("Dan Fox", "invited 90 days ago (2025-12-02) and has not accepted")
    ]
    assert reads(pd_sandbox) == ["/users", "/license_allocations"]
    assert found(pd_run("users-invitation-pending", days=91)) == []


@PEOPLE
def test_full_licenses_of_people_on_nothing_who_responded_to_nothing(pd_run, pd_sandbox):
    message = "holds a Full User license, is on no schedule or escalation policy and acknowledged or resolved nothing in"
    assert found(pd_run("licenses-unused")) == [("Ben Okoro", f"{message} 30 days"), ("Dan Fox", f"{message} 30 days")]
    assert reads(pd_sandbox) == ["/license_allocations", "/schedules", "/escalation_policies", "/log_entries", "/users"]
    log = next(e for e in pd_sandbox.exchanges if e.path == "/log_entries")
    window = [datetime.fromisoformat(log.query[key][0]) for key in ("since", "until")]
    assert window == [datetime(2026, 1, 31, 12, tzinfo=UTC), datetime(2026, 3, 2, 12, tzinfo=UTC)]
    assert log.query["is_overview"] == ["true"]
    assert found(pd_run("licenses-unused", days=60)) == [("Dan Fox", f"{message} 60 days")]


@PEOPLE
def test_weak_notification_rules(pd_run, pd_sandbox):
    assert found(pd_run("users-weak-notification-rules")) == [
        ("Kim Park", "every high-urgency rule fires within 1 minute: nothing notifies them again later"),
        ("Lee Wong", "a single high-urgency rule (email after 0 minutes): if it is missed, nothing follows"),
    ]
    assert reads(pd_sandbox) == ["/users"]
    assert "Cleo Ray" in {summary for summary, _ in found(pd_run("users-weak-notification-rules", minutes=5))}


@pytest.mark.pd_profile(str(PROFILES / "noise.toml"))
def test_noise_settings_are_held_to_the_teams_own(pd_run, pd_sandbox):
    assert found(pd_run("services-noise-settings")) == [
        ("Blog", "auto-pause off (1 of its team's 2 other services have it)"),
        ("CDN", "alert grouping off (2 of its team's 2 other services have it); auto-pause off (1 of its team's 2"
                " other services have it); no auto-resolve (2 of its team's 2 other services have it)"),
        ("Warehouse", "no acknowledgement timeout (1 of its team's 1 other services have it)"),
    ]
    assert reads(pd_sandbox) == ["/services"]

"""What each kind of write does, in the words dry runs, plans and confirmations show."""

from __future__ import annotations

import pytest

from runner.results import Action
from runner.write_words import describe_action

USER = {"id": "PUSER01", "type": "user_reference"}


@pytest.mark.parametrize(
    ("method", "path", "body", "words"),
    [
        ("PUT", "/schedules/PSCHED1", {"schedule": {"name": "Web", "schedule_layers": [
            {"name": "Layer 1", "users": [{"user": USER}, {"user": {"id": "PUSER02"}}]}, {"users": [{"user": USER}]}]}},
         "set the layers of schedule Web (PSCHED1) to Layer 1: PUSER01, PUSER02; layer 2: PUSER01"),
        ("PUT", "/escalation_policies/PPOL001", {"escalation_policy": {"name": "Web", "escalation_rules": [
            {"targets": [{"id": "PSCHED1", "type": "schedule_reference"}]}, {"targets": [USER]}]}},
         "set the rules of escalation policy Web (PPOL001) to level 1: schedule PSCHED1; level 2: user PUSER01"),
        ("DELETE", "/teams/PTEAM01/users/PUSER01", None, "take user PUSER01 off team PTEAM01"),
        ("DELETE", "/users/PUSER01", None, "delete user PUSER01"),
        ("PUT", "/incidents", {"incidents": [{"id": "PINC001", "assignments": [{"assignee": USER}]},
                                             {"id": "PINC002", "escalation_policy": {"id": "PPOL001"}}]},
         "update assignments, escalation_policy of 2 incidents: PINC001, PINC002"),
        ("PUT", "/incidents", {"incidents": [{"id": "PINC001", "assignments": [{"assignee": USER}]},
                                             {"id": "PINC002", "assignments": [{"assignee": {"id": "PUSER02"}}]}]},
         "reassign PINC001 to PUSER01; PINC002 to PUSER02"),
        ("POST", "/schedules/PSCHED1/overrides", {"overrides": [{"start": "A", "end": "B", "user": USER}]},
         "on schedule PSCHED1, put user PUSER01 on call from A to B"),
        ("POST", "/maintenance_windows", {"maintenance_window": {"start_time": "A", "end_time": "B", "description": "Deploy",
                                                                 "services": [{"id": "PSVC001"}, {"id": "PSVC002"}]}},
         "hold services PSVC001, PSVC002 in maintenance from A to B: 'Deploy'"),
        ("PUT", "/maintenance_windows/PWIN001", {"maintenance_window": {"services": [{"id": "PSVC002"}]}},
         "keep maintenance window PWIN001 for services PSVC002 only"),
        ("DELETE", "/maintenance_windows/PWIN001", None, "delete maintenance window PWIN001"),
        ("POST", "/webhook_subscriptions/PHOOK01/enable", None,
         "re-enable webhook subscription PHOOK01, disabled after failed deliveries"),
        ("PUT", "/webhook_subscriptions/PHOOK01", {"webhook_subscription": {"type": "webhook_subscription", "active": True}},
         "turn webhook subscription PHOOK01 back on"),
        ("PUT", "/webhook_subscriptions/PHOOK01", {"webhook_subscription": {"description": "x"}},
         "update description of webhook subscription PHOOK01"),
        ("POST", "/extensions/PEXT001/enable", None, "re-enable extension PEXT001, disabled after failed deliveries"),
        ("PUT", "/schedules/PSCHED1", {"schedule": "not an object"}, "PUT /schedules/PSCHED1: schedule=\"not an object\""),
    ],
)
def test_each_write_is_said_in_words(method, path, body, words):
    assert describe_action(Action.plan(method, path, body, headers={})) == words

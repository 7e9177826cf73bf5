"""What each pdrun audit must find in the demo account, derived from the demo's tables.

Test data: `DEMO_PLANTED[audit]` is the set of names (incident titles for
incidents) an audit with its default parameters finds in the demo.
"""

from __future__ import annotations

from collections.abc import Iterator

from runner.sandbox.demo import (
    DEMO_TEAMLESS_SERVICES,
    ESCALATION_POLICIES,
    INCIDENTS,
    PAGING,
    SCHEDULES,
    SERVICES,
    TEAMS,
    USERS,
)


def _policy_targets() -> Iterator[tuple[str, tuple[str, ...]]]:
    for name, _, levels in ESCALATION_POLICIES:
        for level in levels:
            yield name, level


def _planted() -> dict[str, frozenset[str]]:
    schedules = {name for name, *_ in SCHEDULES}
    targeted = {target for _, level in _policy_targets() for target in level}
    scheduled = {user for _, _, users, _ in SCHEDULES for user in users}
    levels = {name: levels for name, _, levels in ESCALATION_POLICIES}
    recent = {service for hours_ago, _, service, *_ in INCIDENTS if hours_ago < 30 * 24}
    stale = {title for hours_ago, title, _, status, _ in INCIDENTS if status != "resolved" and hours_ago > 24}

    def standards_failed(team: str | None, policy: str, integrations: tuple[str, ...], description: str) -> int:
        rules = levels[policy]
        return sum(
            (
                not description,
                team is None,
                not integrations,
                len(rules) < 2,
                not any(target in schedules for level in rules for target in level),
            )
        )

    def single_level(rules: tuple[tuple[str, ...], ...]) -> bool:
        return len(rules) == 1 or any(len(level) == 1 and level[0] not in schedules for level in rules)

    def unreachable(paging: str) -> bool:
        methods, urgencies, _ = PAGING[paging]
        return not {"phone", "sms", "push"} & set(methods) or "high" not in urgencies

    return {
        "services-without-teams": frozenset(DEMO_TEAMLESS_SERVICES),
        "services-without-integrations": frozenset(name for name, *_, integrations, _ in SERVICES if not integrations),
        "services-inactive": frozenset(
            name for name, _, _, status, *_ in SERVICES if status != "disabled" and name not in recent
        ),
        "services-disabled": frozenset(name for name, _, _, status, *_ in SERVICES if status == "disabled"),
        "escalation-policies-unused": frozenset(levels.keys() - {policy for _, policy, *_ in SERVICES}),
        "escalation-policies-single-level": frozenset(name for name, rules in levels.items() if single_level(rules)),
        "schedules-with-gaps": frozenset(name for name, _, _, hours in SCHEDULES if hours is not None),
        "schedules-unused": frozenset(schedules - targeted),
        "users-without-contact-methods": frozenset(name for name, _, paging in USERS if unreachable(paging)),
        "users-orphaned": frozenset(
            name for name, team, _ in USERS if team is None and name not in scheduled and name not in targeted
        ),
        "teams-without-members": frozenset(set(TEAMS) - {team for _, team, _ in USERS}),
        "incidents-stale": frozenset(stale),
        "service-standards": frozenset(
            name
            for name, policy, team, _, integrations, description in SERVICES
            if standards_failed(team, policy, integrations, description) >= 2
        ),
    }


DEMO_PLANTED: dict[str, frozenset[str]] = _planted()
"""Audit (recipe) name -> names of the demo objects it must find (incident titles for incidents)."""

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
    INVITED,
    NOISE_SETTINGS,
    OVERRIDES,
    PAGING,
    ROLES,
    SCHEDULES,
    SERVICES,
    TEAMS,
    USERS,
)
from runner.sandbox.demo_addons import EXTENSIONS, MAINTENANCE_WINDOWS, WEBHOOKS

NOISE_DEFAULTS = {"alert_grouping": None, "auto_pause": False, "acknowledgement_timeout": 1800, "auto_resolve_timeout": 14400}


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

    def weak(paging: str) -> bool:
        methods, urgencies, later = PAGING[paging]
        delays = [0 for _ in methods if "high" in urgencies] + [minutes for _, urgency, minutes in later if urgency == "high"]
        return len(delays) == 1 or bool(delays) and max(delays) < 1

    def noisy(service: str, team: str | None) -> bool:
        def settings(name: str) -> dict:
            return {key: value for key, value in (NOISE_DEFAULTS | NOISE_SETTINGS.get(name, {})).items() if value}

        peers = [name for name, _, other, status, *_ in SERVICES if other == team and status != "disabled" and name != service]
        return team is not None and any(set(settings(peer)) - set(settings(service)) for peer in peers)

    fortnight = 14 * 24
    overridden = {name: sum(min(start + hours, fortnight) - max(start, 0) for s, _, start, hours in OVERRIDES if s == name)
                  for name in schedules}
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
        "users-invitation-pending": frozenset(INVITED),
        "licenses-unused": frozenset(
            name for name, _, _ in USERS
            if ROLES.get(name, "limited_user") not in ("owner", "read_only_user", "read_only_limited_user")
            and name not in scheduled | targeted
        ),
        "webhooks-disabled": frozenset(
            [hook.get("description") or hook["url"] for hook in WEBHOOKS
             if hook.get("disabled") or hook.get("active") is False]
            + [name for name, *_, disabled in EXTENSIONS if disabled]
        ),
        "maintenance-windows-long": frozenset(
            [description for description, _, _, hours in MAINTENANCE_WINDOWS if hours >= 365 * 24]
            + [service for _, held, start, hours in MAINTENANCE_WINDOWS
               if start < -24 and start + hours > 0 for service in held]
        ),
        "services-noise-settings": frozenset(name for name, _, team, status, *_ in SERVICES
                                             if status != "disabled" and noisy(name, team)),
        "schedules-overrides-heavy": frozenset(name for name, hours in overridden.items() if hours > fortnight / 2),
        "users-weak-notification-rules": frozenset(name for name, _, paging in USERS if weak(paging)),
    }


DEMO_PLANTED: dict[str, frozenset[str]] = _planted()
"""Audit (recipe) name -> names of the demo objects it must find (incident titles for incidents)."""

"""Who may read and change what: PagerDuty's user roles, and the team roles that widen them.

A user's `role` is one of PagerDuty's base roles (API names, with the names
its web UI shows in `ROLES`). Reads: every role reads every object but the
team-scoped ones (`TEAM_SCOPED`), who see only objects their teams own
(users and teams are everyone's). Writes come in three scopes:

- `respond`: incidents and what hangs off them (updates, notes, status
  updates, alerts) and schedule overrides;
- `configure`: services, escalation policies, schedules, teams, maintenance
  windows, extensions, webhooks, orchestrations and rulesets;
- `users`: users and their contact methods and notification rules.

Owners and admins write everything; managers (`user`) everything but other
users; responders and restricted-access users respond on their teams' (and
unowned) incidents and configure what the teams they manage own; observers
and stakeholders change nothing. Everyone may change their own contact
methods and notification rules.
"""

from __future__ import annotations

from collections.abc import Collection

ROLES = {
    "owner": "Account Owner",
    "admin": "Global Admin",
    "user": "Manager",
    "limited_user": "Responder",
    "observer": "Observer",
    "restricted_access": "Restricted Access",
    "read_only_user": "Full Stakeholder",
    "read_only_limited_user": "Limited Stakeholder",
}
STAKEHOLDERS = ("read_only_user", "read_only_limited_user")
TEAM_SCOPED = ("restricted_access", "read_only_limited_user")
SCOPES = ("respond", "configure", "users")
_EVERYWHERE = {
    "owner": SCOPES,
    "admin": SCOPES,
    "user": ("respond", "configure"),
}
_ON_THEIR_TEAMS = ("limited_user", "restricted_access")


def may_read(role: str, teams: Collection[str], owners: Collection[str] | None) -> bool:
    """Return whether a user of `role` on `teams` may read an object the teams `owners` own (None: no one's)."""
    return role not in TEAM_SCOPED or owners is None or bool(set(teams) & set(owners))


def may_write(
    role: str, scope: str, *, teams: Collection[str], managed: Collection[str], owners: Collection[str] | None
) -> bool:
    """Return whether a user of `role`, on `teams` and managing `managed`, may change such an object in `scope`."""
    if scope in _EVERYWHERE.get(role, ()):
        return True
    if role not in _ON_THEIR_TEAMS:
        return False
    if scope == "respond":
        return not owners or bool(set(teams) & set(owners))
    return scope == "configure" and bool(owners) and bool(set(managed) & set(owners or ()))

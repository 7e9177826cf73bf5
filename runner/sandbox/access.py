"""Who a request acts as, and what their role lets them see and change (see `runner.sandbox.roles`)."""

from __future__ import annotations

from collections.abc import Iterable

from runner.sandbox.account import Account
from runner.sandbox.api import ApiError, Request, access_denied, invalid_input, not_found
from runner.sandbox.objects import Obj, kind_of
from runner.sandbox.roles import may_read, may_write

# Objects whose `teams` say who owns them (a user's `teams` say where they belong, not who owns them).
TEAM_OWNED = ("service", "escalation_policy", "schedule", "incident", "maintenance_window")


def owners(obj: Obj) -> list[str] | None:
    """Return the ids of the teams owning `obj`, or None if no team does (or it is not owned at all)."""
    kind = kind_of(obj)
    if kind in TEAM_OWNED or kind.endswith("_log_entry"):
        return [team["id"] for team in obj.get("teams") or ()] or None
    return None


def check_access(account: Account, request: Request, obj: Obj) -> None:
    """Refuse (403) a user-level token an object its user's role may not see."""
    if request.user_id is not None and not _may_read(account, request.user_id, obj):
        raise access_denied()


def visible(account: Account, request: Request, items: Iterable[Obj]) -> list[Obj]:
    """Keep the items the request's user may see: all of them, but for team-scoped roles."""
    if request.user_id is None:
        return list(items)
    return [item for item in items if _may_read(account, request.user_id, item)]


def check_write(
    account: Account, request: Request, scope: str, owned_by: list[str] | None = None, *, own: str | None = None
) -> None:
    """Refuse (403) a user-level token a change in `scope` its user's role does not allow.

    `owned_by` are the ids of the teams owning what changes (None: no team's);
    `own` is the user a change of `users` concerns: changing oneself is always allowed.
    """
    if request.user_id is None or (scope == "users" and own == request.user_id):
        return
    user = account.users[request.user_id]
    teams, managed = [team["id"] for team in user["teams"]], account.managed_teams(user)
    if not may_write(user["role"], scope, teams=teams, managed=managed, owners=owned_by):
        raise access_denied()


def find(account: Account, collection: str, request: Request, key: str = "id") -> Obj:
    """Return the object of `collection` whose id the path's `key` gives, or raise 404 (403 if it is hidden)."""
    try:
        obj = getattr(account, collection)[request.params[key]]
    except KeyError:
        raise not_found() from None
    check_access(account, request, obj)
    return obj


def requester(account: Account, request: Request) -> Obj:
    """Return who makes a write: the user-level token's user, or the user the `From` header names."""
    if request.user_id is not None:
        return account.users[request.user_id]
    email = request.headers.get("from")
    if not email:
        message = 'You must specify a user\'s email address in the "From" header to perform this action'
        raise ApiError(400, 2016, message)
    user = account.user_by_email(email)
    if user is None:
        raise invalid_input("Requester User Not Found")
    return user


def _may_read(account: Account, user_id: str, obj: Obj) -> bool:
    user = account.users[user_id]
    return may_read(user["role"], [team["id"] for team in user["teams"]], owners(obj))

"""Finding the users recipes are told about, by id or by email address."""

from __future__ import annotations

from typing import Any

from recipes.named import get_named
from runner import Context, UsageError


def find_user(ctx: Context, who: str) -> dict[str, Any]:
    """Return the user `who` names: an id (GET /users/{id}) or an email address (GET /users?query=).

    An id or an address no user has is refused (UsageError).
    """
    if "@" not in who:
        return get_named(ctx, "users", who)
    for user in ctx.pd.iter("users", query=who):
        if user["email"].casefold() == who.casefold():
            return user
    raise UsageError(f"no PagerDuty user has the email address {who}")


def user_ref(user_id: str) -> dict[str, str]:
    """Return a reference to a user, as request bodies name one."""
    return {"id": user_id, "type": "user_reference"}

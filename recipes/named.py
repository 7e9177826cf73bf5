"""Reading an object the user named by id: an id this account does not know is the user's mistake (exit 2)."""

from __future__ import annotations

from typing import Any

from runner import Context, UsageError
from runner.errors import ApiError


def get_named(ctx: Context, collection: str, object_id: str) -> dict[str, Any]:
    """Return `GET /{collection}/{object_id}`; refuse (UsageError) an id PagerDuty answers 404 for."""
    try:
        return ctx.pd.get(f"{collection}/{object_id}")
    except ApiError as exc:
        if exc.status == 404:
            raise UsageError(f"no {collection.removesuffix('s')} {object_id} in this PagerDuty account") from None
        raise

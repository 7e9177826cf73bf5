"""Sessions on an in-process sandbox app with any token, sender and retry budget, sleeping never."""

from __future__ import annotations

import httpx2

from runner.sandbox import SANDBOX_BASE_URL, SANDBOX_TOKEN
from runner.sandbox.demo import DEMO_FROM_EMAIL
from runner.session import Session


def session_for(
    app,
    *,
    token: str = SANDBOX_TOKEN,
    sleeps: list[float] | None = None,
    retries: int = 3,
    from_email: str | None = DEMO_FROM_EMAIL,
) -> Session:
    return Session(
        token=token,
        token_source="$PAGERDUTY_API_TOKEN",
        url=SANDBOX_BASE_URL,
        events_url=SANDBOX_BASE_URL,
        from_email=from_email,
        timeout=7.5,
        retries=retries,
        transport=httpx2.WSGITransport(app=app),
        sleep=(sleeps if sleeps is not None else []).append,
    )

"""Action: post a status update to incidents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recipes.incident_selection import SELECTION_PARAMS, SELECTORS, select_incidents
from runner import Context, Param, UsageError, hookimpl, recipe


def _email_parts_together(params: Mapping[str, Any]) -> None:
    if bool(params["subject"]) != bool(params["html_message"]):
        raise UsageError("status-update: --subject and --html-message go together (a custom email update)")


@recipe(
    writes=["POST /incidents/{id}/status_updates"],
    tags=["incidents"],
    params=[
        Param(name="message", required=True, help="The update's text, sent to subscribers."),
        Param(name="subject", help="Subject of a custom email update (with --html-message)."),
        Param(name="html_message", help="HTML body of a custom email update (with --subject)."),
        *SELECTION_PARAMS,
    ],
    one_of=SELECTORS,
    validate=_email_parts_together,
)
def status_update(ctx: Context) -> None:
    """Post a status update to incidents.

    Choose incidents by id (--incident, repeatable) or by filter (--service,
    --status). Updates are posted as the [pagerduty] from_email user.
    """
    body = {"message": ctx.params["message"]}
    if ctx.params["subject"]:
        body |= {"subject": ctx.params["subject"], "html_message": ctx.params["html_message"]}
    for incident in select_incidents(ctx):
        # PagerDuty lists no status updates to check: the history's record keeps each one posted once.
        ctx.write("POST", f"/incidents/{incident['id']}/status_updates", body, once=True)


@hookimpl
def pdrun_recipes(register):
    register(status_update)

"""Action: add a note to incidents."""

from __future__ import annotations

from runner import Context, Param, hookimpl, recipe

from recipes.incident_selection import SELECTION_PARAMS, SELECTORS, select_incidents


@recipe(
    writes=True,
    tags=["incidents"],
    params=[Param(name="message", required=True, help="The note's text."), *SELECTION_PARAMS],
    one_of=SELECTORS,
)
def incident_note(ctx: Context) -> None:
    """Add a note to incidents.

    Choose incidents by id (--incident, repeatable) or by filter (--service,
    --status). Notes are written as the [pagerduty] from_email user.
    """
    for incident in select_incidents(ctx):
        ctx.write("POST", f"/incidents/{incident['id']}/notes", {"note": {"content": ctx.params["message"]}})


@hookimpl
def pdrun_recipes(register):
    register(incident_note)

"""Action: add a note to incidents, once."""

from __future__ import annotations

from recipes.incident_selection import SELECTION_PARAMS, SELECTORS, select_incidents
from runner import Context, Param, hookimpl, recipe


@recipe(
    writes=["POST /incidents/{id}/notes"],
    tags=["incidents"],
    params=[
        Param(name="message", required=True, help="The note's text."),
        Param(
            name="note_footer",
            help="Appended to the note, e.g. 'posted by pdrun run {run_id}', to trace it back to its run.",
        ),
        *SELECTION_PARAMS,
    ],
    one_of=SELECTORS,
)
def incident_note(ctx: Context) -> None:
    """Add a note to incidents.

    Choose incidents by id (--incident, repeatable) or by filter. Notes are
    written as the [pagerduty] from_email user. An incident that already has
    this note (PagerDuty lists notes) is skipped, so a rerun never posts twice.
    """
    message = ctx.params["message"]
    footer = ctx.params["note_footer"]
    content = f"{message}\n\n{footer.format(run_id=ctx.run_id, recipe=ctx.recipe.name)}" if footer else message
    for incident in select_incidents(ctx):
        path = f"/incidents/{incident['id']}/notes"

        def has_note(path: str = path) -> bool:
            notes = ctx.pd.iter(path)  # a write recipe's reads are never cached: this decides whether to write
            return any(n["content"] == message or n["content"].startswith(f"{message}\n\n") for n in notes)

        ctx.write("POST", path, {"note": {"content": content}}, already_done=has_note, once=True)


@hookimpl
def pdrun_recipes(register):
    register(incident_note)

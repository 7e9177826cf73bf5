"""Hygiene audit of how users are paged: notification rules that give up too soon."""

from __future__ import annotations

from collections.abc import Iterator

from recipes.listings import users
from runner import Context, Finding, Param, hookimpl, recipe


@recipe(
    tags=["hygiene"],
    params=[Param(name="minutes", default=1, minimum=1, maximum=60,
                  help="Weak when no high-urgency rule fires this many minutes or more after the page.")],
)
def users_weak_notification_rules(ctx: Context) -> Iterator[Finding]:
    """Users with a single high-urgency notification rule, or none after the first minutes.

    One push notification, missed in the shower, is all it takes for a page
    to go unanswered until the escalation policy gives up on them; a rule
    that calls again a few minutes later is what wakes people. Users with no
    high-urgency rule at all are left to users-without-contact-methods. The
    rules come with the users listing.
    """
    for user in users(ctx):
        rules = [rule for rule in user.get("notification_rules") or () if rule.get("urgency") in ("high", "any")]
        if len(rules) == 1:
            method = rules[0]["contact_method"]["type"].removesuffix("_reference").removesuffix("_contact_method")
            yield ctx.finding(user, f"a single high-urgency rule ({method.replace('_', ' ')} after"
                                    f" {rules[0]['start_delay_in_minutes']} minutes): if it is missed, nothing follows")
        elif rules and max(rule["start_delay_in_minutes"] for rule in rules) < ctx.params["minutes"]:
            minutes = ctx.params["minutes"]
            yield ctx.finding(user, f"every high-urgency rule fires within {minutes} minute{'s' if minutes > 1 else ''}:"
                                    " nothing notifies them again later", severity="info")


@hookimpl
def pdrun_recipes(register):
    register(users_weak_notification_rules)

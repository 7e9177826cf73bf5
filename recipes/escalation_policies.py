"""Hygiene audits of escalation policies."""

from __future__ import annotations

from collections.abc import Iterator

from recipes.listings import escalation_policies
from runner import Context, Finding, hookimpl, recipe


@recipe(tags=["hygiene"])
def escalation_policies_unused(ctx: Context) -> Iterator[Finding]:
    """Escalation policies that no service uses.

    An unused policy is clutter that someone will one day attach to a service
    believing it current; remove it or put it to use.
    """
    for policy in escalation_policies(ctx):
        if not policy.get("services"):
            yield ctx.finding(policy, "no service uses this escalation policy", severity="info")


@recipe(tags=["hygiene"])
def escalation_policies_single_level(ctx: Context) -> Iterator[Finding]:
    """Escalation policies with one level, or with a level that notifies one user only.

    When the one person a level notifies is asleep, on a plane or gone, the
    page goes nowhere. Every level should reach a rotation or several people,
    and there should be somewhere to escalate to.
    """
    for policy in escalation_policies(ctx):
        rules = policy.get("escalation_rules") or []
        if len(rules) == 1:
            yield ctx.finding(policy, "only one escalation level: nobody to escalate to")
            continue
        for level, rule in enumerate(rules, 1):
            targets = rule.get("targets") or []
            if len(targets) == 1 and targets[0]["type"].startswith("user"):
                yield ctx.finding(policy, f"level {level} notifies a single user ({targets[0].get('summary')})")
                break


@hookimpl
def pdrun_recipes(register):
    register(escalation_policies_unused)
    register(escalation_policies_single_level)

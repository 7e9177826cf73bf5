"""How far a run may write: whether at all, a cap on the objects it changes, and who confirms a large plan."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runner.results import Action

DEFAULT_MAX_WRITES = 50
CONFIRM_ABOVE = 5


@dataclass(frozen=True)
class WritePolicy:
    """What one run may write.

    `allowed` is False for runs that may never write (audits, read-only
    recipes, schedules without `allow_writes`): any planned write fails
    them. `confirm` is asked about plans changing more than CONFIRM_ABOVE
    objects; None means nobody can be asked, and such a plan is refused
    unless `assume_yes`. `resend_unknown` sends again the writes an earlier
    run left `unknown`, which are otherwise never resent.
    """

    allowed: bool = True
    max_writes: int = DEFAULT_MAX_WRITES
    confirm: Callable[[Sequence[Action]], bool] | None = None
    assume_yes: bool = False
    resend_unknown: bool = False


READ_ONLY = WritePolicy(allowed=False, max_writes=0)

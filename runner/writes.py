"""Carry out a run's planned writes: caps, confirmation, idempotency, safe retries, a record of each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from runner.errors import ApiError, PdrunError, TokenRejected
from runner.log import get_logger
from runner.recipe import Action

if TYPE_CHECKING:
    from runner.history import History
    from runner.session import Session

log = get_logger(__name__)

DEFAULT_MAX_WRITES = 50
CONFIRM_ABOVE = 5
RETRIES_AFTER_CHECK = 2

# Tells whether a write already took effect in PagerDuty (e.g. the note is there).
Check = Callable[[], bool]


@dataclass(frozen=True)
class WritePolicy:
    """How far a run may go: a cap on changed objects, and who confirms a large plan.

    `confirm` is asked about plans changing more than CONFIRM_ABOVE objects;
    None means nobody can be asked, and such a plan is refused.
    """

    max_writes: int = DEFAULT_MAX_WRITES
    confirm: Callable[[Sequence[Action]], bool] | None = None
    assume_yes: bool = False


DEFAULT_POLICY = WritePolicy()


@dataclass(frozen=True)
class Outcome:
    actions: tuple[Action, ...]
    error: str | None = None
    refused: bool = False


class Writer:
    """Turns a plan into writes, never doing one twice, recording each as it goes."""

    def __init__(
        self, *, session: Session, policy: WritePolicy, history: History | None, run_id: str
    ) -> None:
        self._session = session
        self._policy = policy
        self._history = history
        self._run_id = run_id

    def carry_out(self, actions: Sequence[Action], checks: Sequence[Check | None], *, dry_run: bool) -> Outcome:
        """Settle what is already done, hold the plan to the cap and confirmation, then write."""
        actions = [self._settle(a, check) for a, check in zip(actions, checks, strict=True)]
        planned = [a for a in actions if a.status == "planned"]
        changes = sum(a.changes for a in planned)
        if changes > self._policy.max_writes:
            return Outcome(
                tuple(actions),
                f"the plan would change {changes} objects in {len(planned)} requests, over max_writes"
                f" {self._policy.max_writes}; nothing was written",
                refused=True,
            )
        if dry_run or not planned:
            return Outcome(tuple(actions))
        if changes > CONFIRM_ABOVE and not self._confirmed(planned):
            return Outcome(tuple(actions), f"the plan would change {changes} objects and was not confirmed", True)
        done = list(actions)
        for seq, check in enumerate(checks):
            if done[seq].status != "planned":
                continue
            try:
                done[seq] = self._send(seq, done[seq], check)
            except TokenRejected as exc:  # every later write would be refused too: stop here
                done[seq] = replace(done[seq], status="failed", error=str(exc))
                return Outcome(tuple(done), str(exc))
            except PdrunError as exc:  # e.g. the history cannot be written: stop, keeping what was done
                return Outcome(tuple(done), str(exc))
        failed = [a for a in done if a.status == "failed"]
        error = f"{len(failed)} of {len(done)} writes failed" if failed else None
        return Outcome(tuple(done), error)

    def _confirmed(self, planned: Sequence[Action]) -> bool:
        if self._policy.assume_yes:
            return True
        return self._policy.confirm is not None and self._policy.confirm(planned)

    def _settle(self, action: Action, check: Check | None) -> Action:
        """Mark a write skipped when PagerDuty shows it already done, or, for a `once` write, the history.

        What PagerDuty shows wins: with a check, the history is not asked.
        """
        if check is not None:
            try:
                if check():
                    return replace(action, status="skipped", error="already in PagerDuty")
            except TokenRejected:
                raise
            except ApiError as exc:  # PagerDuty would refuse the write for the same reason
                return replace(action, status="failed", error=str(exc))
            return action
        if action.once and self._history is not None:
            earlier = self._history.earlier_action(action.key(self._session.url))
            if earlier is not None:
                run_id, status = earlier
                how = "done" if status == "done" else "possibly sent (that run stopped mid-write)"
                return replace(action, status="skipped", error=f"already {how} by run {run_id}")
        return action

    def _send(self, seq: int, action: Action, check: Check | None) -> Action:
        if self._history is not None:
            self._history.action_sending(self._run_id, seq, action, key=action.key(self._session.url))
        try:
            result = self._attempt(action, check)
        except TokenRejected as exc:
            result = replace(action, status="failed", error=str(exc))
            if self._history is not None:
                self._history.action_finished(self._run_id, seq, result)
            raise
        if self._history is not None:
            self._history.action_finished(self._run_id, seq, result)
        log.info(f"action.{result.status}", method=action.method, path=action.path,
                 **({"error": result.error} if result.error else {}))
        return result

    def _attempt(self, action: Action, check: Check | None) -> Action:
        """Send; after a 5xx, retry only when a check shows the write did not take effect."""
        for attempt in range(RETRIES_AFTER_CHECK + 1):
            try:
                self._session.write(action.method, action.path, action.body, headers=action.headers)
                return replace(action, status="done", error=None)
            except TokenRejected:
                raise
            except ApiError as exc:
                failure = replace(action, status="failed", error=str(exc))
                if check is None or exc.status is None or exc.status < 500 or attempt == RETRIES_AFTER_CHECK:
                    return failure
                try:
                    if check():
                        return replace(action, status="done", error=None)
                except TokenRejected:
                    raise
                except ApiError:  # cannot tell whether the write landed: never risk a second copy
                    return failure
                log.warning("action.retry", path=action.path, status=exc.status, attempt=attempt + 1)
        return failure

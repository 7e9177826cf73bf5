"""Carry out a run's plan: caps, confirmation, claims, safe retries, and a record of every write.

The writer is the only code that sends writes: it holds the transport's
permit for exactly the request it sends, and only while it sends it.
Before sending, it claims the write's key in the history, so no other run
sends the same write; after, it records how the write ended.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import structlog

from runner.errors import ApiError, OutcomeUnknown, PdrunError, TokenRejected
from runner.policy import CONFIRM_ABOVE, WritePolicy
from runner.results import Action
from runner.transport import permit

if TYPE_CHECKING:
    from runner.context import AlreadyDone
    from runner.history import Claim, History
    from runner.session import Session

log = structlog.get_logger()

RESENDS_AFTER_CHECK = 2
# How long to wait for another live run to finish sending a write this run planned too.
CLAIM_PATIENCE_S = 600.0
CLAIM_POLL_S = 0.2
RESEND_HINT = "check PagerDuty, then run again with --resend-unknown to send it anyway"


@dataclass(frozen=True)
class WriteReport:
    """The plan's actions as they ended, and why the run fails, if it does."""

    actions: tuple[Action, ...]
    error: str | None = None
    refused: bool = False


Planned = tuple[Action, "AlreadyDone | None"]


class Unrecorded(PdrunError):
    """A write was sent, and how it ended (`action`) could not be recorded in the history."""

    def __init__(self, action: Action, cause: PdrunError) -> None:
        super().__init__(f"{action.method} {action.path} ended {action.status}, but {cause}")
        self.action = action


class Writer:
    """Turns a plan into writes, never sending one twice, recording each as it goes.

    `read_since` is when the plan's reads began (the run's start; a saved
    plan's planning time): a write another run made after it is newer than
    this plan's view of PagerDuty, so it is not repeated.
    """

    def __init__(
        self, *, session: Session, policy: WritePolicy, history: History | None, run_id: str, account: str,
        read_since: str, sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._session = session
        self._policy = policy
        self._history = history
        self._run_id = run_id
        self._account = account
        self._read_since = read_since
        self._sleep = sleep

    def carry_out(self, plan: Sequence[Planned], *, dry_run: bool) -> WriteReport:
        """Settle what is already done, hold the plan to the cap and confirmation, then write."""
        actions = [self._settle(action, done) for action, done in plan]
        planned = [a for a in actions if a.status == "planned"]
        changes = sum(a.changes for a in planned)
        if planned and not self._policy.allowed:
            return WriteReport(tuple(actions), f"this run may not write, but its recipe planned {len(planned)}"
                               " writes; nothing was written", refused=True)
        if changes > self._policy.max_writes:
            return WriteReport(
                tuple(actions),
                f"the plan would change {changes} objects in {len(planned)} requests, over max_writes"
                f" {self._policy.max_writes}; nothing was written",
                refused=True,
            )
        if dry_run or not planned:
            return WriteReport(tuple(actions), None if dry_run else _unknown_error(actions))
        if changes > CONFIRM_ABOVE and not self._confirmed(planned):
            return WriteReport(tuple(actions), f"the plan would change {changes} objects and was not confirmed", True)
        for seq, (_, done) in enumerate(plan):
            if actions[seq].status != "planned":
                continue
            try:
                actions[seq] = self._send(seq, actions[seq], done)
            except TokenRejected as exc:  # every later write would be refused too: stop here
                actions[seq] = replace(actions[seq], status="failed", error=str(exc))
                return WriteReport(tuple(actions), str(exc))
            except Unrecorded as exc:  # sent, but the history cannot say so: report how it ended, and stop
                actions[seq] = exc.action
                return WriteReport(tuple(actions), str(exc))
            except PdrunError as exc:  # e.g. the history cannot be written: stop, keeping what was done
                return WriteReport(tuple(actions), str(exc))
        failed = [a for a in actions if a.status == "failed"]
        error = f"{len(failed)} of {len(actions)} writes failed" if failed else None
        return WriteReport(tuple(actions), "; ".join(e for e in (error, _unknown_error(actions)) if e) or None)

    def _confirmed(self, planned: Sequence[Action]) -> bool:
        if self._policy.assume_yes:
            return True
        return self._policy.confirm is not None and self._policy.confirm(planned)

    def _settle(self, action: Action, done: AlreadyDone | None) -> Action:
        """Mark a write skipped when PagerDuty, or the claim of an earlier run, shows it made."""
        if done is not None:
            try:
                if done():
                    return replace(action, status="skipped", error="already in PagerDuty")
            except TokenRejected:
                raise
            except ApiError as exc:  # PagerDuty would refuse the write for the same reason
                return replace(action, status="failed", error=str(exc))
        if self._history is None:
            return action
        held = self._history.claim_of(action.key(self._account))
        verdict = self._judge(held, action, done, recheck=False) if held else "take"
        return _decided(action, verdict, held)

    def _send(self, seq: int, action: Action, done: AlreadyDone | None) -> Action:
        key = action.key(self._account)
        if self._history is not None:
            verdict = self._claim(key, action, done)
            if verdict != "take":
                return _decided(action, verdict, self._history.claim_of(key))
            self._history.action_sending(self._run_id, seq, action, key=key)
        try:
            result = self._attempt(action, done)
        except TokenRejected as exc:
            self._record(seq, key, replace(action, status="failed", error=str(exc)))
            raise
        try:
            self._record(seq, key, result)
        except PdrunError as exc:
            raise Unrecorded(result, exc) from None
        log.info(f"action.{result.status}", method=action.method, path=action.path,
                 **({"error": result.error} if result.error else {}))
        return result

    def _claim(self, key: str, action: Action, done: AlreadyDone | None) -> str:
        """Claim the write's key; return "take" once this run holds it, or why it must not send it."""
        assert self._history is not None
        deadline = time.monotonic() + CLAIM_PATIENCE_S
        while True:
            held = self._history.claim(key=key, account=self._account, run_id=self._run_id, once=action.once)
            if held is None:
                return "take"
            if held.run_id == self._run_id:
                return "same-run"
            verdict = self._judge(held, action, done, recheck=True, patient=time.monotonic() < deadline)
            if verdict == "wait":
                self._sleep(CLAIM_POLL_S)
            elif verdict != "take" or self._history.take_over(held, run_id=self._run_id, once=action.once):
                return verdict

    def _judge(self, held: Claim, action: Action, done: AlreadyDone | None, *, recheck: bool,
               patient: bool = False) -> str:
        """What to do about a write another run claimed: take, wait, skip it as done, or leave it unknown."""
        assert self._history is not None
        status = held.status
        if status == "sending":
            if self._history.run_alive(held.run_id) and (patient or not recheck):
                return "wait" if recheck else "take"
            status = "unknown"  # its run died mid-write, or never finished
        if status == "done":
            return "done" if held.once or (held.settled_at or "") >= self._read_since else "take"
        if done is not None:  # what PagerDuty shows decides
            return "take" if not recheck else "in-pagerduty" if _shows(done) else "take"
        if self._policy.resend_unknown or (not held.once and held.claimed_at < self._read_since):
            return "take"
        return "unknown"

    def _attempt(self, action: Action, done: AlreadyDone | None) -> Action:
        """Send; when no answer says how it went, check PagerDuty before any resend, or leave it unknown."""
        for attempt in range(RESENDS_AFTER_CHECK + 1):
            try:
                with permit(action.method, action.path):
                    self._session.write(action.method, action.path, action.body)
                return replace(action, status="done", error=None)
            except TokenRejected:
                raise
            except ApiError as exc:
                uncertain = isinstance(exc, OutcomeUnknown) or (exc.status or 0) >= 500
                if not uncertain:
                    return replace(action, status="failed", error=str(exc))
                if done is None:
                    return replace(action, status="unknown", error=f"{exc}; {RESEND_HINT}")
                try:
                    if done():
                        return replace(action, status="done", error=None)
                except ApiError:  # cannot tell whether the write landed: never risk a second copy
                    return replace(action, status="unknown", error=f"{exc}; {RESEND_HINT}")
                if attempt == RESENDS_AFTER_CHECK:
                    return replace(action, status="failed", error=str(exc))
                log.warning("action.resend", path=action.path, reason=str(exc), attempt=attempt + 1)
        raise AssertionError("unreachable")

    def _record(self, seq: int, key: str, action: Action) -> None:
        if self._history is not None:
            self._history.action_finished(self._run_id, seq, action)
            self._history.settle(key=key, run_id=self._run_id, status=action.status)


def _shows(done: AlreadyDone) -> bool:
    try:
        return done()
    except ApiError:
        return False


def _decided(action: Action, verdict: str, held: Claim | None) -> Action:
    """The action as a verdict about another run's claim leaves it."""
    by = f"run {held.run_id}" if held else "another run"
    if verdict in ("take", "wait"):
        return action
    if verdict == "in-pagerduty":
        return replace(action, status="skipped", error="already in PagerDuty")
    if verdict == "done":
        return replace(action, status="skipped", error=f"already done by {by}")
    if verdict == "same-run":
        return replace(action, status="skipped", error="the same write comes earlier in this plan")
    return replace(action, status="unknown", error=f"may have been made by {by}, which got no answer; {RESEND_HINT}")


def _unknown_error(actions: Sequence[Action]) -> str | None:
    unknown = [f"{a.method} {a.path}" for a in actions if a.status == "unknown"]
    if not unknown:
        return None
    counted = "1 write" if len(unknown) == 1 else f"{len(unknown)} writes"
    return f"{counted} may or may not have been made (no answer came back): {', '.join(unknown)}"

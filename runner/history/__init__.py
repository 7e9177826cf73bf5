"""The run history: every run, its writes and their claims, and the findings it remembers."""

from __future__ import annotations

from runner.history.claims import Claim
from runner.history.store import History, default_url, open_history

__all__ = ["Claim", "History", "default_url", "open_history"]

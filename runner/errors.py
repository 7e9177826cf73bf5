"""Errors a user can fix, each carrying the exit code the CLI ends with."""

from __future__ import annotations

from collections.abc import Iterable

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT
# What a plugin's code may raise that pdrun contains: `sys.exit()` too, which would otherwise end the process.
PLUGIN_FAILURES = (Exception, SystemExit)


class PdrunError(Exception):
    """Base of every error that ends in one clear line instead of a traceback."""

    exit_code = EXIT_FAILED


class UsageError(PdrunError):
    """A command, parameter or recipe name is wrong."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """The configuration file or environment is wrong."""


class RecipeError(PdrunError):
    """A recipe could not do its job; raise it from a recipe with a message for the user."""


class ApiError(PdrunError):
    """PagerDuty answered with an error, or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class OutcomeUnknown(ApiError):
    """A write's request may have reached PagerDuty, but no answer came back: it may or may not be made."""


class WriteRefused(PdrunError):
    """A write was attempted outside pdrun's writer, or planned outside the recipe's declaration: none was sent."""


class HistoryError(PdrunError):
    """The run history cannot be opened or written."""


class TokenRejected(ApiError):
    """PagerDuty refused the API token (401)."""


def suggest(name: str, known: Iterable[str], *, most: int = 3) -> str:
    """Return a ' (did you mean …?)' hint for a misspelled name, or ''."""
    import difflib  # loaded only when a name is wrong

    close = difflib.get_close_matches(name, list(known), n=most, cutoff=0.5)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""

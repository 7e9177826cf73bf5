"""The REST API's building blocks: requests, routes, errors, pagination, filters and `include[]`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from runner.sandbox.account import Account
from runner.sandbox.objects import KINDS, Obj, kind_of, parse_time, timestamp

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
MAX_OFFSET_PLUS_LIMIT = 10_000

T = TypeVar("T")
Result = tuple[int, Obj | None]
Handler = Callable[[Account, "Request"], Result]
Filters = Mapping[str, Callable[[Obj], Iterable[str]]]
View = Callable[[Obj], Obj]
ViewFactory = Callable[[Account, "Request"], View]
# include[] value -> paths of the references it expands, e.g. "assignments.assignee".
Includes = Mapping[str, tuple[str, ...]]


class ApiError(Exception):
    """An error answered the way PagerDuty answers it: `{"error": {...}}`."""

    def __init__(self, status: int, code: int, message: str, errors: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = list(errors)

    def body(self) -> Obj:
        """Return the response body PagerDuty sends with this error."""
        error: Obj = {"message": self.message, "code": self.code}
        if self.errors:
            error["errors"] = self.errors
        return {"error": error}


def invalid_input(*errors: str) -> ApiError:
    """Return PagerDuty's 400 for arguments it rejects."""
    return ApiError(400, 2001, "Invalid Input Provided", errors)


def not_found() -> ApiError:
    """Return PagerDuty's 404."""
    return ApiError(404, 2100, "Not Found")


def access_denied() -> ApiError:
    """Return PagerDuty's 403 for a user who may not see or change an object."""
    return ApiError(403, 2010, "Access Denied")


def applying(change: Callable[[], T]) -> T:
    """Make a change, answering PagerDuty's 400 for one the account refuses (ValueError) or an unknown reference."""
    try:
        return change()
    except (ValueError, KeyError) as exc:
        raise invalid_input(str(exc).strip("'\"")) from None


def method_not_allowed() -> ApiError:
    """Return PagerDuty's 405 for a method a known path does not take."""
    return ApiError(405, 2000, "Method Not Allowed")


@dataclass(frozen=True)
class Request:
    """What a handler sees of a request: header names are lower-case.

    `user_id` is the user a user-level token acts as; None for the account token.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    user_id: str | None = None

    def value(self, name: str) -> str | None:
        """Return the first value of query parameter `name`, if given."""
        values = self.query.get(name)
        return values[0] if values else None

    def values(self, name: str) -> list[str]:
        """Return a list parameter given as `name=a&name=b`, `name=a,b`, or both."""
        return [part for value in self.query.get(name, ()) for part in value.split(",") if part]

    def flag(self, name: str) -> bool:
        """Return a boolean parameter: true only when given as `true`."""
        return self.value(name) == "true"

    def integer(self, name: str, default: int) -> int:
        """Return an integer parameter, or raise PagerDuty's 400."""
        value = self._parsed(name, int, "an integer")
        return default if value is None else value

    def time(self, name: str) -> datetime | None:
        """Return a date-time parameter, or raise PagerDuty's 400."""
        return self._parsed(name, parse_time, "a valid date")

    def _parsed(self, name: str, parse: Callable[[str], Any], what: str) -> Any:
        value = self.value(name)
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError:
            raise invalid_input(f"{name.capitalize()} must be {what}.") from None

    def json_object(self, wrapper: str | None = None) -> Obj:
        """Return the JSON object sent as the body (or the object under `wrapper`), or raise PagerDuty's 400."""
        try:
            body = json.loads(self.body)
        except ValueError:
            body = None
        if wrapper is not None and isinstance(body, dict):
            body = body.get(wrapper)
        if not isinstance(body, dict):
            where = f'an object under "{wrapper}"' if wrapper else "a JSON object"
            raise invalid_input(f"The request body must be {where}.")
        return body


@dataclass(frozen=True)
class Route:
    """One endpoint: a method, a path pattern such as `/incidents/{id}/notes`, and its handler.

    `api` is "REST" (authenticated by an API token) or "Events" (the events
    host, authenticated by the event's routing key). The handler's docstring
    says what the endpoint serves and takes, for the endpoint table.
    """

    method: str
    pattern: str
    handler: Handler
    api: str = "REST"
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(self.pattern))
        object.__setattr__(self, "regex", re.compile(f"^{regex}$"))

    def match(self, path: str) -> dict[str, str] | None:
        """Return the path parameters if this route's pattern matches `path`."""
        found = self.regex.match(path)
        return found.groupdict() if found else None

    @property
    def summary(self) -> str:
        """Return the handler's docstring on one line."""
        return " ".join((self.handler.__doc__ or "").split())


def as_is(obj: Obj) -> Obj:
    """Serve an object as stored."""
    return obj


def paginate(request: Request, wrapper: str, items: list[Obj], view: View = as_is) -> Obj:
    """Return one page of `items`, each served through `view`, under PagerDuty's classic pagination."""
    limit = min(request.integer("limit", DEFAULT_LIMIT), MAX_LIMIT)
    offset = request.integer("offset", 0)
    if limit < 1 or offset < 0:
        raise invalid_input("Limit must be positive and offset must not be negative.")
    if offset + limit > MAX_OFFSET_PLUS_LIMIT:
        raise ApiError(
            400,
            2002,
            "Arguments Caused Error",
            [
                f"Offset+limit exceeds maximum allowed value of {MAX_OFFSET_PLUS_LIMIT}. Please try to refine "
                "your search to reduce the returned set of records below this number, like adding a date range."
            ],
        )
    page = items[offset : offset + limit]
    return {
        wrapper: [view(item) for item in page],
        "limit": limit,
        "offset": offset,
        "total": len(items) if request.flag("total") else None,
        "more": offset + len(page) < len(items),
    }


def filtered(items: Iterable[Obj], request: Request, filters: Filters) -> list[Obj]:
    """Keep the items matching every list filter given, e.g. `team_ids[]`."""
    kept = list(items)
    for name, keys in filters.items():
        if wanted := set(request.values(name)):
            kept = [item for item in kept if not wanted.isdisjoint(keys(item))]
    return kept


def check_choices(request: Request, choices: Mapping[str, Iterable[str]]) -> None:
    """Raise PagerDuty's 400 for a list parameter holding a value outside its choices."""
    for name, allowed in choices.items():
        allowed = tuple(allowed)
        if not set(request.values(name)) <= set(allowed):
            raise invalid_input(f"{name} must be a list of {', '.join(allowed)}.")


def time_window(request: Request, since: datetime | None, until: datetime | None) -> tuple[str | None, str | None]:
    """Return `since` and `until` (given, else the defaults) as timestamps comparable with stored ones."""
    since, until = request.time("since") or since, request.time("until") or until
    if since is not None and until is not None and until < since:
        raise invalid_input("Until must be after since.")
    return (timestamp(since) if since else None), (timestamp(until) if until else None)


def ids(refs: Iterable[Obj]) -> set[str]:
    """Return the ids of `refs`."""
    return {ref["id"] for ref in refs}


def including(includes: Includes) -> ViewFactory:
    """Return a view factory expanding the references the request's `include[]` names into full objects."""

    def factory(account: Account, request: Request) -> View:
        paths = [path.split(".") for name in request.values("include[]") for path in includes.get(name, ())]
        if not paths:
            return as_is

        def view(obj: Obj) -> Obj:
            for path in paths:
                obj = _expand(account, obj, path)
            return obj

        return view

    return factory


def _expand(account: Account, value: Any, path: list[str]) -> Any:
    """Return `value` with the references at `path` replaced by the objects, copying what changes."""
    if isinstance(value, list):
        return [_expand(account, item, path) for item in value]
    if not isinstance(value, dict):
        return value
    if not path:
        return resolve(account, value)
    head, *rest = path
    return {**value, head: _expand(account, value[head], rest)} if head in value else value


def resolve(account: Account, ref: Obj) -> Obj:
    """Return the object a reference points at, or the reference if it is gone."""
    kind = kind_of(ref)
    if kind in KINDS:
        store = getattr(account, KINDS[kind][0])
    elif kind.endswith("contact_method"):
        store = account.contact_methods
    elif kind.endswith("notification_rule"):
        store = account.notification_rules
    elif kind.endswith("_integration"):
        store = account.integrations
    else:
        store = account.log_entries
    return store.get(ref["id"], ref)

"""The sandbox's REST API v2 endpoints: a table of routes and their handlers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from runner.sandbox.account import Account, Obj

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
MAX_OFFSET_PLUS_LIMIT = 10_000
INCIDENT_WINDOW = timedelta(days=30)

Result = tuple[int, Obj]
Handler = Callable[[Account, "Request"], Result]
Filters = dict[str, Callable[[Obj], Iterable[str]]]
View = Callable[[Account, "Request"], Callable[[Obj], Obj]]


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


@dataclass(frozen=True)
class Request:
    """What a handler sees of a request: header names are lower-case."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def value(self, name: str) -> str | None:
        """Return the first value of query parameter `name`, if given."""
        values = self.query.get(name)
        return values[0] if values else None

    def values(self, name: str) -> list[str]:
        """Return a list parameter given as `name=a&name=b`, `name=a,b`, or both."""
        return [part for value in self.query.get(name, ()) for part in value.split(",") if part]

    def json_object(self) -> Obj:
        """Return the JSON object sent as the body, or raise PagerDuty's 400."""
        try:
            body = json.loads(self.body)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise invalid_input("The request body must be a JSON object.")
        return body


def _as_is(obj: Obj) -> Obj:
    return obj


@dataclass(frozen=True)
class Route:
    """One endpoint: a method, a path pattern such as `/incidents/{id}/notes`, and its handler."""

    method: str
    pattern: str
    handler: Handler
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(self.pattern))
        object.__setattr__(self, "regex", re.compile(f"^{regex}$"))

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Return the path parameters if this route serves `method path`."""
        found = self.regex.match(path) if method == self.method else None
        return found.groupdict() if found else None


def paginate(request: Request, wrapper: str, items: list[Obj], view: Callable[[Obj], Obj] = _as_is) -> Obj:
    """Return one page of `items`, each served through `view`, under PagerDuty's classic pagination."""
    limit = min(_integer(request, "limit", DEFAULT_LIMIT), MAX_LIMIT)
    offset = _integer(request, "offset", 0)
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
        "total": len(items) if request.value("total") == "true" else None,
        "more": offset + len(page) < len(items),
    }


def _integer(request: Request, name: str, default: int) -> int:
    value = request.value(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise invalid_input(f"{name.capitalize()} must be an integer.") from None


def _find(collection: dict[str, Obj], request: Request) -> Obj:
    try:
        return collection[request.params["id"]]
    except KeyError:
        raise not_found() from None


def _filter(items: Iterable[Obj], request: Request, filters: Filters) -> list[Obj]:
    """Keep the items matching every list filter given, e.g. `team_ids[]`."""
    kept = list(items)
    for name, keys in filters.items():
        if wanted := set(request.values(name)):
            kept = [item for item in kept if wanted.intersection(keys(item))]
    return kept


def _requester(account: Account, request: Request) -> Obj:
    """Return the user named by the `From` header PagerDuty requires on writes with account tokens."""
    email = request.headers.get("from")
    if not email:
        message = 'You must specify a user\'s email address in the "From" header to perform this action'
        raise ApiError(400, 2016, message)
    user = account.user_by_email(email)
    if user is None:
        raise invalid_input("Requester User Not Found")
    return user


def _text(obj: Any, key: str) -> str | None:
    """Return `obj[key]` if `obj` is a dict and that is a non-empty string."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, str) and value else None


def _ids(refs: Iterable[Obj]) -> set[str]:
    return {ref["id"] for ref in refs}


def _targeted_users(policy: Obj) -> set[str]:
    return {
        target["id"]
        for rule in policy["escalation_rules"]
        for target in rule["targets"]
        if target["type"] == "user_reference"
    }


# List filters: parameter -> the keys an object matches it by.
_BY_TEAM: Filters = {"team_ids[]": lambda obj: _ids(obj["teams"])}
_POLICIES: Filters = {**_BY_TEAM, "user_ids[]": _targeted_users}
_INCIDENTS: Filters = {
    **_BY_TEAM,
    "statuses[]": lambda incident: {incident["status"]},
    "urgencies[]": lambda incident: {incident["urgency"]},
    "service_ids[]": lambda incident: {incident["service"]["id"]},
    "user_ids[]": lambda incident: {a["assignee"]["id"] for a in incident["assignments"]},
}


def _as_stored(account: Account, request: Request) -> Callable[[Obj], Obj]:
    return _as_is


def _service_view(account: Account, request: Request) -> Callable[[Obj], Obj]:
    """Serve services with `include[]` swapping references for the full objects."""
    includes = set(request.values("include[]"))

    def view(service: Obj) -> Obj:
        served = dict(service)
        if "teams" in includes:
            served["teams"] = [account.teams[ref["id"]] for ref in service["teams"]]
        if "escalation_policies" in includes:
            served["escalation_policy"] = account.escalation_policies[service["escalation_policy"]["id"]]
        return served

    return view


def index(
    collection: str,
    wrapper: str,
    *,
    filters: Filters | None = None,
    searched: tuple[str, ...] = ("name",),
    view: View = _as_stored,
) -> Handler:
    """Return a handler listing a collection sorted by name, with `query` and list filters."""

    def handler(account: Account, request: Request) -> Result:
        items = _filter(getattr(account, collection).values(), request, filters or {})
        if query := (request.value("query") or "").casefold():
            items = [item for item in items if any(query in item[key].casefold() for key in searched)]
        items.sort(key=lambda item: item["name"].casefold())
        return 200, paginate(request, wrapper, items, view(account, request))

    return handler


def show(collection: str, wrapper: str, *, view: View = _as_stored) -> Handler:
    """Return a handler serving one object of a collection by id."""

    def handler(account: Account, request: Request) -> Result:
        return 200, {wrapper: view(account, request)(_find(getattr(account, collection), request))}

    return handler


def list_team_members(account: Account, request: Request) -> Result:
    """GET /teams/{id}/members"""
    team = _find(account.teams, request)
    return 200, paginate(request, "members", account.team_members[team["id"]])


_INCIDENT_ENUMS = {
    "statuses[]": ("triggered", "acknowledged", "resolved"),
    "urgencies[]": ("high", "low"),
}


def list_incidents(account: Account, request: Request) -> Result:
    """GET /incidents: by default only those opened in the last 30 days, oldest first."""
    for name, allowed in _INCIDENT_ENUMS.items():
        if not set(request.values(name)) <= set(allowed):
            raise invalid_input(f"{name} must be a list of {', '.join(allowed)}.")
    since, until = _window(account, request)
    incidents = [
        incident
        for incident in _filter(account.incidents.values(), request, _INCIDENTS)
        if (since is None or since <= _parse_time(incident["created_at"]))
        and (until is None or _parse_time(incident["created_at"]) < until)
    ]
    incidents.sort(key=lambda incident: (incident["created_at"], incident["incident_number"]))
    return 200, paginate(request, "incidents", incidents)


def _window(account: Account, request: Request) -> tuple[datetime | None, datetime | None]:
    """Return the creation window `[since, until)`; `None` leaves a side open."""
    if request.value("date_range") == "all":
        return None, None
    since, until = _time_param(request, "since"), _time_param(request, "until")
    if since is None and until is None:
        since = account.now - INCIDENT_WINDOW
    return since, until


def _time_param(request: Request, name: str) -> datetime | None:
    value = request.value(name)
    if value is None:
        return None
    try:
        return _parse_time(value)
    except ValueError:
        raise invalid_input(f"{name.capitalize()} must be a valid date.") from None


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def list_notes(account: Account, request: Request) -> Result:
    """GET /incidents/{id}/notes"""
    incident = _find(account.incidents, request)
    return 200, {"notes": account.notes[incident["id"]]}


def create_note(account: Account, request: Request) -> Result:
    """POST /incidents/{id}/notes"""
    user = _requester(account, request)
    incident = _find(account.incidents, request)
    content = _text(request.json_object().get("note"), "content")
    if content is None:
        raise invalid_input("Note content is required.")
    return 200, {"note": account.add_note(incident["id"], content, user=user)}


def create_status_update(account: Account, request: Request) -> Result:
    """POST /incidents/{id}/status_updates"""
    user = _requester(account, request)
    incident = _find(account.incidents, request)
    body = request.json_object()
    message = _text(body, "message")
    if message is None:
        raise invalid_input("Message is required.")
    email = {key: _text(body, key) for key in ("subject", "html_message") if key in body}
    if len(email) == 1 or None in email.values():
        raise invalid_input("A custom email needs both subject and html_message, as text.")
    return 200, {"status_update": account.add_status_update(incident["id"], message, user=user, **email)}


ROUTES: tuple[Route, ...] = (
    Route("GET", "/services", index("services", "services", filters=_BY_TEAM, view=_service_view)),
    Route("GET", "/services/{id}", show("services", "service", view=_service_view)),
    Route("GET", "/teams", index("teams", "teams")),
    Route("GET", "/teams/{id}", show("teams", "team")),
    Route("GET", "/teams/{id}/members", list_team_members),
    Route("GET", "/users", index("users", "users", filters=_BY_TEAM, searched=("name", "email"))),
    Route("GET", "/users/{id}", show("users", "user")),
    Route("GET", "/escalation_policies", index("escalation_policies", "escalation_policies", filters=_POLICIES)),
    Route("GET", "/escalation_policies/{id}", show("escalation_policies", "escalation_policy")),
    Route("GET", "/schedules", index("schedules", "schedules", filters=_BY_TEAM)),
    Route("GET", "/schedules/{id}", show("schedules", "schedule")),
    Route("GET", "/incidents", list_incidents),
    Route("GET", "/incidents/{id}", show("incidents", "incident")),
    Route("GET", "/incidents/{id}/notes", list_notes),
    Route("POST", "/incidents/{id}/notes", create_note),
    Route("POST", "/incidents/{id}/status_updates", create_status_update),
)

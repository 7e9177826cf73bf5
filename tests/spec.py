"""Check sandbox exchanges against PagerDuty's official OpenAPI specs, read from ../shared.

REST exchanges are checked against the REST API spec, `/v2/...` ones against
the Events API v2 spec. Each spec is loaded once per test session. Without
them tests skip, except under `CI=true`, where they fail. Responses the
sandbox's faults made (429, 5xx, dropped) are not PagerDuty's to check; their
requests are.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathError
from openapi_schema_validator import OAS30ReadValidator

from runner.sandbox import Exchange

SPEC_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "pagerduty-openapi"
SPEC_PATH = SPEC_DIR / "rest-openapiv3.json"
EVENTS_SPEC_PATH = SPEC_DIR / "events-v2-openapiv3.json"
EVENTS_PREFIX = "/v2/"


@dataclass(frozen=True)
class KnownSpecBug:
    """A bug of the spec itself: schema errors it matches are not the sandbox's (or the client's) fault."""

    why: str
    request: str  # regex fully matching "METHOD /path"
    field: str  # regex fully matching the error's place in the body, e.g. "incident/resolved_at"
    values: tuple[Any, ...] | None  # the values PagerDuty really takes there (objects: by type); None for any
    side: str = "response"  # or "request": the body the error is in

    def excuses(self, exchange: Exchange, side: str, place: str, value: Any) -> bool:
        """Return whether this bug explains an error at `place` of the request's or response's body."""
        if side != self.side or not re.fullmatch(self.request, f"{exchange.method} {exchange.path}"):
            return False
        if not re.fullmatch(self.field, place):
            return False
        if self.values is None or value in self.values:
            return True
        return isinstance(value, dict) and value.get("type") in self.values


# The spec's own bugs, and only those: never add an entry to hide a sandbox bug.
KNOWN_SPEC_BUGS = (
    KnownSpecBug(
        "PagerDuty sends null for an incident's unset resolved_at, resolve_reason and priority "
        "(the spec's own examples do too); the spec does not mark them nullable.",
        request=r"(GET|PUT) /incidents(/\w+)?",
        field=r"incidents?(/\d+)?/(resolved_at|resolve_reason|priority)",
        values=(None,),
    ),
    KnownSpecBug(
        "PagerDuty sends null last_incident_timestamp for a service that never had an incident; "
        "the spec does not mark it nullable.",
        request=r"(GET|POST|PUT) /services(/\w+)?",
        field=r"services?(/\d+)?/last_incident_timestamp",
        values=(None,),
    ),
    KnownSpecBug(
        "PagerDuty sends null acknowledgement_timeout or auto_resolve_timeout for a service with the feature off "
        "(the spec says so in words); the schema does not mark them nullable.",
        request=r"(GET|POST|PUT) /services(/\w+)?",
        field=r"services?(/\d+)?/(acknowledgement_timeout|auto_resolve_timeout)",
        values=(None,),
    ),
    KnownSpecBug(
        "An on-call from a user targeted directly has no schedule and no end: PagerDuty sends null "
        "schedule, start and end (the spec says so in words), but the schema does not allow null.",
        request=r"GET /oncalls",
        field=r"oncalls/\d+/(schedule|start|end)",
        values=(None,),
    ),
    KnownSpecBug(
        "include[] replaces references with the full objects, whose type drops `_reference` (team, "
        "events_api_v2_inbound_integration, phone_contact_method...); the spec only allows the references there.",
        request=r"GET /(services|users|escalation_policies|incidents|oncalls|teams/\w+/members|log_entries|maintenance_windows)(/\w+)*",
        field=r"\w+(/\d+)?/.+",
        values=(
            "team",
            "user",
            "schedule",
            "service",
            "incident",
            "escalation_policy",
            "events_api_v2_inbound_integration",
            "generic_email_inbound_integration",
            "email_contact_method",
            "phone_contact_method",
            "sms_contact_method",
            "push_notification_contact_method",
            "assignment_notification_rule",
            "trigger_log_entry",
        ),
    ),
    KnownSpecBug(
        "No log entry can match the spec: every Channel alternative of its oneOf accepts any channel, so each "
        "channel matches several (and AcknowledgeLogEntry's type, acknowledgement_log_entry, contradicts "
        "LogEntry's acknowledge_log_entry). test_log_entries_match_their_own_schemas checks the rest.",
        request=r"GET /(incidents/\w+/)?log_entries(/\w+)?",
        field=r"log_entr(y|ies/\d+)",
        values=(
            "trigger_log_entry",
            "assign_log_entry",
            "acknowledge_log_entry",
            "resolve_log_entry",
            "annotate_log_entry",
            "notify_log_entry",
        ),
    ),
    KnownSpecBug(
        "Reassigning incidents (in bulk or one) sends each assignee reference's id and type, or the escalation "
        "policy's, as the spec's own PUT /incidents example does; the schema marks them read-only.",
        request=r"PUT /incidents(/\w+)?",
        field=r"incidents?(/\d+)?/(assignments/\d+/assignee|escalation_policy)/(id|type)",
        values=None,
        side="request",
    ),
    KnownSpecBug(
        "Creating or updating an object requires its type and names other objects by reference (id, type): "
        "a service its escalation policy, a policy its targets, a layer its users, an override its user... "
        "The spec marks every type and every reference's id read-only, so valid requests are refused as "
        "writing read-only properties.",
        request=r"(POST|PUT) /(services|users|escalation_policies|schedules|maintenance_windows|extensions)(/.+)?",
        field=r"\w+(/\w+)*/(type|id)",
        values=None,
        side="request",
    ),
    KnownSpecBug(
        "A contact method can never match the request schema: its oneOf lists PhoneContactMethod twice (for phone "
        "and for sms), so a phone or sms contact method matches two alternatives, and the type every contact "
        "method must send is read-only in their shared base.",
        request=r"(POST|PUT) /users/\w+/contact_methods(/\w+)?",
        field=r"contact_method",
        values=None,
        side="request",
    ),
    KnownSpecBug(
        "GET /schedules/{id}/overrides documents its answer under 201, though PagerDuty answers a read with 200.",
        request=r"GET /schedules/\w+/overrides",
        field=r"",
        values=None,
    ),
)



@functools.cache
def _document(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def _load(path: Path) -> tuple[OpenAPI, str]:
    data = _document(path)
    # The REST spec has one invalid default (components/parameters/sre_memories_limit): skip spec validation.
    server = urlsplit(data["servers"][0]["url"])
    return OpenAPI.from_dict(data, config=Config(spec_validator_cls=None)), f"{server.scheme}://{server.netloc}"


def load_spec(*, events: bool = False) -> tuple[OpenAPI, str]:
    """Return the REST (or Events) spec and its host URL; skip the test without it, or fail under `CI=true`."""
    path = EVENTS_SPEC_PATH if events else SPEC_PATH
    if not path.is_file():
        message = f"PagerDuty's OpenAPI spec is missing: {path}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return _load(path)


def component_errors(instance: Any, component: str) -> list[tuple[str, str]]:
    """Return (place, message) for each way `instance` breaks the REST spec's schema `component`."""
    load_spec()
    schema = {**_document(SPEC_PATH), "$ref": f"#/components/schemas/{component}"}
    errors = OAS30ReadValidator(schema).iter_errors(instance)
    return [("/".join(map(str, error.absolute_path)), error.message) for error in errors]


class _Query(Mapping[str, str]):
    """Query parameters as openapi-core reads them: first values, and `getlist` for all."""

    def __init__(self, query: Mapping[str, list[str]]) -> None:
        self._query = query

    def __getitem__(self, name: str) -> str:
        return self._query[name][0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._query)

    def __len__(self) -> int:
        return len(self._query)

    def getlist(self, name: str) -> list[str]:
        """Return every value of `name`."""
        return list(self._query.get(name, ()))


class _Headers(Mapping[str, str]):
    """Headers looked up regardless of case, as HTTP wants."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = {name.lower(): value for name, value in headers.items()}

    def __getitem__(self, name: str) -> str:
        return self._headers[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._headers)

    def __len__(self) -> int:
        return len(self._headers)


@dataclass(frozen=True)
class _SpecRequest:
    """An exchange's request, as openapi-core's Request protocol."""

    host_url: str
    path: str
    method: str
    parameters: RequestParameters
    body: bytes | None
    content_type: str


@dataclass(frozen=True)
class _SpecResponse:
    """An exchange's response, as openapi-core's Response protocol."""

    status_code: int
    headers: Mapping[str, str]
    data: bytes | None
    content_type: str


def _request(exchange: Exchange, server: str) -> _SpecRequest:
    headers = _Headers(exchange.headers)
    return _SpecRequest(
        host_url=server,
        path=exchange.path,
        method=exchange.method.lower(),
        parameters=RequestParameters(query=_Query(exchange.query), header=headers),
        body=exchange.body or None,
        content_type=headers.get("content-type", ""),
    )


def _response(exchange: Exchange) -> _SpecResponse:
    headers = _Headers(exchange.response_headers)
    return _SpecResponse(exchange.status, headers, exchange.response_body, headers.get("content-type", ""))


def _schema_errors(error: Exception) -> Iterator[tuple[str, Any, str]]:
    """Yield (place in the body, offending value, message) for each error openapi-core found."""
    schema_errors = getattr(error.__cause__, "schema_errors", None)
    if not schema_errors:
        yield "", None, f"{type(error).__name__}: {error}"
        return
    for schema_error in schema_errors:
        place = "/".join(str(part) for part in schema_error.absolute_path)
        yield place, schema_error.instance, f"{place or '(body)'}: {schema_error.message}"


def _sift(exchange: Exchange, side: str, errors: Iterable[Exception]) -> tuple[list[str], set[KnownSpecBug]]:
    """Split schema errors into problems and the known spec bugs that excuse the others."""
    problems: list[str] = []
    excused: set[KnownSpecBug] = set()
    for error in errors:
        for place, value, message in _schema_errors(error):
            bug = next((bug for bug in KNOWN_SPEC_BUGS if bug.excuses(exchange, side, place, value)), None)
            if bug:
                excused.add(bug)
            else:
                problems.append(f"{side} {exchange.status}: {message}" if side == "response" else f"request: {message}")
    return problems, excused


def _check(exchange: Exchange) -> tuple[list[str], set[KnownSpecBug]]:
    """Return the problems of one exchange and the known spec bugs that excused other errors."""
    api, server = load_spec(events=exchange.path.startswith(EVENTS_PREFIX))
    request = _request(exchange, server)
    request_errors = list(api.iter_request_errors(request))
    if any(isinstance(error, PathError) for error in request_errors):
        if exchange.status >= 400:
            return [], set()
        return [f"served {exchange.status} for an operation the spec does not have"], set()
    problems, excused = [], set()
    if exchange.status < 400 or exchange.fault:
        problems, excused = _sift(exchange, "request", request_errors)
    if exchange.fault:
        return problems, excused
    response_errors = api.iter_response_errors(request, _response(exchange))
    response_problems, response_excused = _sift(exchange, "response", response_errors)
    return problems + response_problems, excused | response_excused


def validate_exchange(exchange: Exchange) -> set[KnownSpecBug]:
    """Validate one exchange's request and response against the spec.

    A request the spec rejects must have been answered with an error; the
    response must match the spec for its status. Returns the known spec bugs
    that excused errors; raises AssertionError listing any other problem.
    """
    problems, excused = _check(exchange)
    if problems:
        raise AssertionError(_describe(exchange, problems))
    return excused


def check_exchanges(exchanges: Iterable[Exchange]) -> None:
    """Validate every exchange; raise one AssertionError listing all failures."""
    failures = []
    for exchange in exchanges:
        problems, _ = _check(exchange)
        if problems:
            failures.append(_describe(exchange, problems))
    if failures:
        raise AssertionError("exchanges that break PagerDuty's OpenAPI spec:\n" + "\n".join(failures))


def _describe(exchange: Exchange, problems: list[str]) -> str:
    query = "&".join(f"{name}={value}" for name, values in exchange.query.items() for value in values)
    head = f"{exchange.method} {exchange.path}{'?' + query if query else ''} -> {exchange.status}"
    return "\n".join([head, *(f"  - {problem}" for problem in problems)])

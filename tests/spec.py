"""Check sandbox exchanges against PagerDuty's official OpenAPI spec, read from ../shared.

The spec is loaded once per test session. Without it tests skip, except under
`CI=true`, where they fail.
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

import pytest
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathError

from runner.sandbox import Exchange

SPEC_PATH = Path(__file__).resolve().parents[1].parent / "shared" / "pagerduty-openapi" / "rest-openapiv3.json"


@dataclass(frozen=True)
class KnownSpecBug:
    """A bug of the spec itself: response schema errors it matches are not the sandbox's fault."""

    why: str
    request: str  # regex fully matching "METHOD /path"
    field: str  # regex fully matching the error's place in the body, e.g. "incident/resolved_at"
    values: tuple[Any, ...]  # the values PagerDuty really sends there


# The spec's own bugs, and only those: never add an entry to hide a sandbox bug.
KNOWN_SPEC_BUGS = (
    KnownSpecBug(
        "PagerDuty sends null for an incident's unset resolved_at, resolve_reason and priority "
        "(the spec's own examples do too); the spec does not mark them nullable.",
        request=r"GET /incidents(/[^/]+)?",
        field=r"incidents?(/\d+)?/(resolved_at|resolve_reason|priority)",
        values=(None,),
    ),
    KnownSpecBug(
        "PagerDuty sends null last_incident_timestamp for a service that never had an incident; "
        "the spec does not mark it nullable.",
        request=r"GET /services(/[^/]+)?",
        field=r"services?(/\d+)?/last_incident_timestamp",
        values=(None,),
    ),
    KnownSpecBug(
        "include[]=teams and include[]=escalation_policies replace a service's references with full "
        "objects (type team, escalation_policy); the spec's Service only allows the references.",
        request=r"GET /services(/[^/]+)?",
        field=r"services?(/\d+)?/(teams/\d+|escalation_policy)/type",
        values=("team", "escalation_policy"),
    ),
)



@functools.cache
def _load() -> tuple[OpenAPI, str]:
    data = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    # The spec has one invalid default (components/parameters/sre_memories_limit): skip spec validation.
    return OpenAPI.from_dict(data, config=Config(spec_validator_cls=None)), data["servers"][0]["url"]


def load_spec() -> tuple[OpenAPI, str]:
    """Return the spec and its server URL; skip the test without it, or fail under `CI=true`."""
    if not SPEC_PATH.is_file():
        message = f"PagerDuty's OpenAPI spec is missing: {SPEC_PATH}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return _load()


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


def _known_bug(exchange: Exchange, place: str, value: Any) -> KnownSpecBug | None:
    request = f"{exchange.method} {exchange.path}"
    for bug in KNOWN_SPEC_BUGS:
        if re.fullmatch(bug.request, request) and re.fullmatch(bug.field, place) and value in bug.values:
            return bug
    return None


def _check(exchange: Exchange) -> tuple[list[str], set[KnownSpecBug]]:
    """Return the problems of one exchange and the known spec bugs that excused other errors."""
    api, server = load_spec()
    request = _request(exchange, server)
    request_errors = list(api.iter_request_errors(request))
    if any(isinstance(error, PathError) for error in request_errors):
        if exchange.status >= 400:
            return [], set()
        return [f"served {exchange.status} for an operation the spec does not have"], set()
    problems: list[str] = []
    if exchange.status < 400:
        problems += [f"request: {message}" for error in request_errors for _, _, message in _schema_errors(error)]
    excused: set[KnownSpecBug] = set()
    for error in api.iter_response_errors(request, _response(exchange)):
        for place, value, message in _schema_errors(error):
            if bug := _known_bug(exchange, place, value):
                excused.add(bug)
            else:
                problems.append(f"response {exchange.status}: {message}")
    return problems, excused


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

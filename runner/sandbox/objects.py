"""PagerDuty object basics shared by the sandbox: ids, timestamps, references, links."""

from __future__ import annotations

import functools
import hashlib
from datetime import datetime, timezone
from typing import Any

SANDBOX_BASE_URL = "https://sandbox.pdrun.invalid"
DEFAULT_SUBDOMAIN = "pdrun-sandbox"

Obj = dict[str, Any]

# kind -> (REST collection, web UI path) for building `self` and `html_url`.
KINDS = {
    "team": ("teams", "teams"),
    "user": ("users", "users"),
    "schedule": ("schedules", "schedules"),
    "escalation_policy": ("escalation_policies", "escalation_policies"),
    "service": ("services", "service-directory"),
    "incident": ("incidents", "incidents"),
    "maintenance_window": ("maintenance_windows", "maintenance_windows"),
    "extension": ("extensions", "extensions"),
}
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_HALF_SPACE = len(_ID_ALPHABET) ** 3
_ID_SPACE = _HALF_SPACE**2
# Coprime with 36**6, so sequence numbers map to distinct ids within a kind.
_ID_MULTIPLIER = 982_451_653


@functools.cache
def _id_offset(kind: str) -> int:
    return int.from_bytes(hashlib.sha256(kind.encode()).digest()[:8], "big")


@functools.cache
def _triples() -> tuple[str, ...]:
    """Return every three-digit base-36 numeral, in order: ids are two of them."""
    return tuple(a + b + c for a in _ID_ALPHABET for b in _ID_ALPHABET for c in _ID_ALPHABET)


def object_id(kind: str, sequence: int) -> str:
    """Return the PagerDuty-like id of the `sequence`-th object of `kind`.

    The same kind and number give the same id on every run and Python version.
    """
    high, low = divmod((sequence * _ID_MULTIPLIER + _id_offset(kind)) % _ID_SPACE, _HALF_SPACE)
    return "P" + _triples()[high] + _triples()[low]


def secret(*parts: str) -> str:
    """Return a deterministic 32-hex-digit key (an integration key, an incident key) for `parts`."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]


def timestamp(moment: datetime) -> str:
    """Format `moment` the way PagerDuty does: ISO 8601 in UTC, seconds, `Z`."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def parse_time(value: str) -> datetime:
    """Read an ISO 8601 time; one without a zone is UTC. Raises ValueError."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def kind_of(obj: Obj) -> str:
    """Return the kind of an object or reference: `service` for `service` and `service_reference`."""
    return obj["type"].removesuffix("_reference")


def reference(obj: Obj) -> Obj:
    """Return the `<type>_reference` PagerDuty uses to point at `obj`."""
    return {
        "id": obj["id"],
        "type": f"{kind_of(obj)}_reference",
        "summary": obj["summary"],
        "self": obj["self"],
        "html_url": obj["html_url"],
    }


def html_base(subdomain: str) -> str:
    """Return the web UI's URL for the account whose subdomain is `subdomain`."""
    return f"https://{subdomain}.pagerduty.com"


def links(kind: str, object_id_: str, subdomain: str) -> tuple[str, str]:
    """Return the `self` and `html_url` of a top-level object of the account on `subdomain`."""
    collection, html_path = KINDS[kind]
    return f"{SANDBOX_BASE_URL}/{collection}/{object_id_}", f"{html_base(subdomain)}/{html_path}/{object_id_}"

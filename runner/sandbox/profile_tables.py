"""Reading a profile's tables: values checked for their kind, errors naming the source, the table and the key."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from runner.sandbox.objects import Obj

_MISSING = object()


class Table:
    """One table of a description, read with errors that name the source, the table and the key."""

    def __init__(self, data: Any, where: str, allowed: Iterable[str]) -> None:
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: expected a table, got {data!r}")
        self.data, self.where = data, where
        unknown = set(data) - set(allowed)
        if unknown:
            raise ValueError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(allowed)})")

    def fail(self, key: str, problem: str) -> ValueError:
        """Return the error for a bad `key`."""
        return ValueError(f"{self.where}: {key}: {problem}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
        """Return the value of `key`, checked to be of `kind`; without a default it is required."""
        value = self.data.get(key, default)
        if value is _MISSING:
            raise self.fail(key, "missing")
        wrong_bool = isinstance(value, bool) and bool not in _kinds(kind)
        if value is not default and (not isinstance(value, kind) or wrong_bool):
            raise self.fail(key, f"expected {_kind_names(kind)}, got {value!r}")
        return value

    def strings(self, key: str, default: Iterable[str] = (), choices: Iterable[str] | None = None) -> list[str]:
        """Return a list of strings, each one of `choices` if given."""
        values = self.get(key, list, list(default))
        allowed = list(choices) if choices is not None else None
        for value in values:
            if not isinstance(value, str) or allowed is not None and value not in allowed:
                expected = f"one of {', '.join(allowed)}" if allowed is not None else "a string"
                raise self.fail(key, f"expected a list of {expected}, got {value!r}")
        return values

    def choice(self, key: str, choices: Iterable[str], default: str) -> str:
        """Return a string that must be one of `choices`."""
        value = self.get(key, str, default)
        choices = tuple(choices)
        if value not in choices:
            raise self.fail(key, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def hours(self, key: str, default: Any = _MISSING) -> timedelta | None:
        """Return a number of hours as a duration (None if absent and the default is None)."""
        value = self.get(key, (int, float), default)
        return None if value is None else timedelta(hours=value)

    def tables(self, key: str, allowed: Iterable[str]) -> list[Table]:
        """Return a list of tables, each checked for unknown keys and named in errors by its number and name."""
        allowed = tuple(allowed)
        items = self.get(key, list, [])
        return [Table(item, f"{self.where}: {key} #{n}{_label(item)}", allowed) for n, item in enumerate(items, 1)]


def _label(item: Any) -> str:
    name = item.get("name") or item.get("title") if isinstance(item, Mapping) else None
    return f" ({name})" if isinstance(name, str) else ""


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_names(kind: type | tuple[type, ...]) -> str:
    names = {"str": "a string", "list": "a list", "int": "a number", "float": "a number", "dict": "a table"}
    return " or ".join(dict.fromkeys(names.get(k.__name__, k.__name__) for k in _kinds(kind)))


class Names:
    """The objects built so far, by kind and name, for resolving references."""

    def __init__(self, kinds: Iterable[str]) -> None:
        self.by_kind: dict[str, dict[str, Obj]] = {kind: {} for kind in kinds}

    def add(self, kind: str, entry: Table, obj: Obj) -> None:
        """Remember `obj`, built from `entry`, by its name (an incident by its title)."""
        name = entry.get("name", str) if kind != "incidents" else entry.get("title", str)
        if kind != "incidents" and name in self.by_kind[kind]:
            raise entry.fail("name", f"another {kind[:-1].replace('_', ' ')} is named {name!r}")
        self.by_kind[kind][name] = obj

    def find(self, entry: Table, key: str, name: str, *kinds: str) -> Obj:
        """Return the object of one of `kinds` named `name`, or fail naming `entry`'s `key`."""
        for kind in kinds:
            if name in self.by_kind[kind]:
                return self.by_kind[kind][name]
        wanted = " or ".join(kind[:-1].replace("_", " ") for kind in kinds)
        raise entry.fail(key, f"no {wanted} named {name!r}")

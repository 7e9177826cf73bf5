"""A read cache for recipes run together, so each distinct collection is fetched once."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.session import Session

Key = tuple[str, tuple[tuple[str, Any], ...]]
# Listings that can be huge stream through, never held: one audit reads them.
STREAMED = frozenset({"incidents", "log_entries"})


def _key(path: str, params: Mapping[str, Any]) -> tuple[Key, frozenset[str]]:
    """Split a read into what identifies it and the `include[]` it asks for."""
    includes = frozenset(params.get("include") or ())
    rest = tuple(
        sorted((name, tuple(value) if isinstance(value, list) else value) for name, value in params.items()
               if name != "include")
    )
    return (path.strip("/"), rest), includes


class ReadCache:
    """Reads through a session, remembering each collection and object for the rest of an audit.

    A read is answered from memory when an earlier one had the same path and
    parameters and asked for at least the same `include[]`, so recipes that
    ask for the same include set share one fetch.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._lists: dict[tuple[Key, frozenset[str]], list[dict[str, Any]]] = {}
        self._objects: dict[tuple[Key, frozenset[str]], Any] = {}
        self._lock = threading.Lock()

    def iter(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Yield a collection, fetching it only if no earlier read of this audit covers it."""
        key, includes = _key(path, params)
        if key[0] in STREAMED:
            yield from self._session.iter(path, **params)
            return
        cached = self._find(self._lists, key, includes)
        if cached is not None:
            yield from cached
            return
        items = []
        for item in self._session.iter(path, **params):
            items.append(item)
            yield item
        with self._lock:
            self._lists[(key, includes)] = items

    def get(self, path: str, **params: Any) -> Any:
        """Read one resource, fetching it only if no earlier read of this audit covers it."""
        key, includes = _key(path, params)
        cached = self._find(self._objects, key, includes)
        if cached is None:
            cached = self._session.get(path, **params)
            with self._lock:
                self._objects[(key, includes)] = cached
        return cached

    def get_each(self, reads: Iterable[tuple[str, Mapping[str, Any]]]) -> Iterator[Any]:
        """Read many resources concurrently, in order (not cached: each recipe asks for its own)."""
        return self._session.get_each(reads)

    def query(self, path: str, body: Any) -> Any:
        """POST to a read-only endpoint (never cached: the body is the question)."""
        return self._session.query(path, body)

    def _find(self, store: dict[tuple[Key, frozenset[str]], Any], key: Key, includes: frozenset[str]) -> Any:
        with self._lock:
            return next((value for (k, inc), value in store.items() if k == key and includes <= inc), None)

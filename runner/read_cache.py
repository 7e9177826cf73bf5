"""A read cache for recipes run together, so each distinct collection is fetched once, even while it arrives."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future
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


class Listing:
    """One collection as it arrives, read by any number of readers, each from the start at its own pace."""

    def __init__(self) -> None:
        self._items: list[dict[str, Any]] = []
        self._ended = False
        self._error: BaseException | None = None
        self._arrived = threading.Condition()

    def fill(self, source: Iterator[dict[str, Any]]) -> None:
        """Take every object from `source`, then mark the listing complete (or failed, with the error)."""
        error = None
        try:
            for item in source:
                with self._arrived:
                    self._items.append(item)
                    self._arrived.notify_all()
        except Exception as exc:  # every reader raises it in turn
            error = exc
        with self._arrived:
            self._ended, self._error = True, error
            self._arrived.notify_all()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        seen = 0
        while True:
            with self._arrived:
                self._arrived.wait_for(lambda: len(self._items) > seen or self._ended)
                batch, ended, error = self._items[seen:], self._ended, self._error
            yield from batch
            seen += len(batch)
            if ended and not batch:
                if error is not None:
                    raise error
                return


class ReadCache:
    """Reads through a session, remembering each collection and object for the rest of an audit.

    A read is answered from memory when an earlier one had the same path and
    parameters and asked for at least the same `include[]`, so recipes that
    ask for the same include set share one fetch. A listing still being
    fetched is shared too: it is fetched once, in a thread of its own that
    counts its requests to the run that asked first, and every reader
    follows it as its pages arrive.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._lists: dict[tuple[Key, frozenset[str]], Listing] = {}
        self._objects: dict[tuple[Key, frozenset[str]], Future[Any]] = {}
        self._lock = threading.Lock()

    def iter(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Iterate over a collection, starting to fetch it now unless an earlier read of this audit covers it.

        The fetch starts when `iter` is called, not when the first object is
        wanted: a recipe that asks for all its listings before reading any
        has them fetched at once.
        """
        key, includes = _key(path, params)
        if key[0] in STREAMED:
            return self._session.iter(path, **params)
        with self._lock:
            listing = self._find(self._lists, key, includes)
            if listing is None:
                listing = self._lists[(key, includes)] = Listing()
                source = self._session.iter(path, **params)
                context = contextvars.copy_context()
                threading.Thread(target=context.run, args=(listing.fill, source), daemon=True,
                                 name=f"pdrun-read-{key[0]}").start()
        return iter(listing)

    def get(self, path: str, **params: Any) -> Any:
        """Read one resource, fetching it only if no earlier read of this audit covers it (or is fetching it)."""
        key, includes = _key(path, params)
        with self._lock:
            pending = self._find(self._objects, key, includes)
            mine = pending is None
            if mine:
                pending = self._objects[(key, includes)] = Future()
        if mine:
            try:
                pending.set_result(self._session.get(path, **params))
            except Exception as exc:  # readers waiting for it raise it too; a later read tries again
                with self._lock:
                    del self._objects[(key, includes)]
                pending.set_exception(exc)
        return pending.result()

    def get_each(self, reads: Iterable[tuple[str, Mapping[str, Any]]]) -> Iterator[Any]:
        """Read many resources concurrently, in order (not cached: each recipe asks for its own)."""
        return self._session.get_each(reads)

    def query(self, path: str, body: Any) -> Any:
        """POST to a read-only endpoint (never cached: the body is the question)."""
        return self._session.query(path, body)

    @staticmethod
    def _find(store: Mapping[tuple[Key, frozenset[str]], Any], key: Key, includes: frozenset[str]) -> Any:
        return next((value for (k, inc), value in store.items() if k == key and includes <= inc), None)

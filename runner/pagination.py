"""Reading PagerDuty listings: classic pages in parallel and in order, cursors, and past the 10,000 cap where exact."""

from __future__ import annotations

import contextvars
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from runner.errors import ApiError
from runner.timestamps import iso, parse_iso

PAGE_SIZE = 100
CLASSIC_PAGINATION_CAP = 10_000
# Listings with a time range that can be split to stay under the cap (canonical paths).
TIME_WINDOWED = frozenset({"/incidents", "/log_entries", "/incidents/{id}/log_entries"})
# Listings PagerDuty sorts by name either way (sort_by=name:asc or name:desc), over unique names: up to twice
# the cap, the first 10,000 are read from one end and the rest from the other.
BY_NAME = frozenset({"/services", "/escalation_policies"})
DEFAULT_WINDOW = timedelta(days=30)  # what PagerDuty lists without since/until
LONGEST_WINDOW = timedelta(days=180)  # the longest since/until range PagerDuty accepts
SMALLEST_WINDOW = timedelta(seconds=1)

Fetch = Callable[[str, Mapping[str, Any]], Any]


class Paginator:
    """Fetch listing pages through `fetch(path, params)`, up to `concurrency` at a time.

    `now` is the account's current time, where a listing's default window ends.
    """

    def __init__(self, fetch: Fetch, *, concurrency: int = 1,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._fetch = fetch
        self._now = now
        self._concurrency = max(1, concurrency)
        self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="pdrun-page")

    def classic(
        self, path: str, wrapper: str, params: Mapping[str, Any], *, by_name: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Every object of a classic listing; past the cap, read from both ends when `by_name`, else ApiError.

        A listing too large to read exactly raises before any object is yielded.
        """
        if by_name:
            params = {"sort_by": "name:asc", **params}
        first = self._first(path, params)
        total = first.get("total")
        if total is None or total <= CLASSIC_PAGINATION_CAP:
            return self._rest(path, wrapper, params, first)
        if by_name and total <= 2 * CLASSIC_PAGINATION_CAP and params["sort_by"] in ("name", "name:asc"):
            return self._both_ends(path, wrapper, params, first, total)
        reach = "twice the cap, read from both ends by name" if by_name else "no exact way to split it"
        raise ApiError(
            f"GET {path}: {total} results, past PagerDuty's {CLASSIC_PAGINATION_CAP}-record pagination cap"
            f" ({reach}); narrow the listing with filters"
        )

    def windowed(self, path: str, wrapper: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every object of a listing with a time range, read in windows each under the cap.

        Windows span at most the six months PagerDuty accepts, and are halved
        until each holds at most 10,000 objects. `date_range=all` reads every
        object, oldest first (with `until`: every one created before it).
        """
        params = dict(params)
        until = parse_iso(params.pop("until")) if "until" in params else None
        if params.get("date_range") == "all":
            yield from self._all(path, wrapper, params, until)
            return
        until = until or self._now()
        since = parse_iso(params.pop("since")) if "since" in params else until - DEFAULT_WINDOW
        yield from self._windows(path, wrapper, params, since, until)

    def cursor(self, path: str, wrapper: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every object of a cursor listing, one page after the other (each page names the next)."""
        cursor = None
        while True:
            body = self._fetch(path, {**params, "limit": PAGE_SIZE} | ({"cursor": cursor} if cursor else {}))
            yield from body.get(wrapper, [])
            cursor = body.get("next_cursor")
            if not cursor:
                return

    def in_order(self, reads: Iterable[tuple[str, Mapping[str, Any]]], fetch: Fetch | None = None) -> Iterator[Any]:
        """Fetch (path, params) reads concurrently, a bounded number ahead; hand the answers back in order.

        `reads` is consumed lazily, so it may be fed by another listing as it arrives.
        """
        fetch = fetch or self._fetch
        pending: deque[Future[Any]] = deque()
        try:
            for path, query in reads:
                context = contextvars.copy_context()  # observers (call counts, progress) follow the request
                pending.append(self._pool.submit(context.run, fetch, path, query))
                if len(pending) >= 2 * self._concurrency:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:  # a reader that stops early, or a page that failed: fetch nothing more
            for future in pending:
                future.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _all(self, path: str, wrapper: str, params: dict[str, Any], until: datetime | None) -> Iterator[dict[str, Any]]:
        """Every object created before `until` (None: ever), oldest first.

        The first page, oldest first, says how many there are and from when.
        Up to the cap with no `until`, the listing goes on page by page;
        otherwise time windows take over from the last object of that page.
        """
        params = {**params, "sort_by": "created_at:asc"}
        first = self._first(path, params)
        if until is None and (first.get("total") or 0) <= CLASSIC_PAGINATION_CAP:
            yield from self._rest(path, wrapper, params, first)
            return
        items = first.get(wrapper, [])
        kept = [item for item in items if until is None or parse_iso(item["created_at"]) < until]
        yield from kept
        if len(kept) < len(items) or not items or not first.get("more"):
            return
        last = parse_iso(items[-1]["created_at"])
        seen = {item["id"] for item in items if parse_iso(item["created_at"]) == last}  # listed again from `last` on
        del params["date_range"]
        end = until or self._now() + SMALLEST_WINDOW
        yield from (item for item in self._windows(path, wrapper, params, last, end) if item["id"] not in seen)

    def _windows(
        self, path: str, wrapper: str, params: dict[str, Any], since: datetime, until: datetime
    ) -> Iterator[dict[str, Any]]:
        while since < until:
            end = min(until, since + LONGEST_WINDOW)
            yield from self._window(path, wrapper, params, since, end)
            since = end

    def _window(
        self, path: str, wrapper: str, params: dict[str, Any], since: datetime, until: datetime
    ) -> Iterator[dict[str, Any]]:
        bounded = {**params, "since": iso(since), "until": iso(until)}
        first = self._first(path, bounded)
        total = first.get("total") or 0
        if total <= CLASSIC_PAGINATION_CAP:
            yield from self._rest(path, wrapper, bounded, first)
            return
        if until - since <= SMALLEST_WINDOW:
            raise ApiError(f"GET {path}: more than {CLASSIC_PAGINATION_CAP} results within one second at {iso(since)}")
        middle = since + (until - since) / 2
        yield from self._window(path, wrapper, params, since, middle)
        yield from self._window(path, wrapper, params, middle, until)

    def _both_ends(
        self, path: str, wrapper: str, params: Mapping[str, Any], first: Any, total: int
    ) -> Iterator[dict[str, Any]]:
        """Read the first 10,000 objects by name ascending and the rest descending; yield them in ascending order.

        Names are unique, so the two ends meet exactly. An object seen from
        both ends (names PagerDuty sorts as equal, or a listing that changed
        meanwhile) raises ApiError instead of counting one object twice and
        missing another.
        """
        head = first.get(wrapper, [])
        rest = total - CLASSIC_PAGINATION_CAP
        ascending = [(path, {**params, "limit": PAGE_SIZE, "offset": offset})
                     for offset in range(len(head), CLASSIC_PAGINATION_CAP, PAGE_SIZE)]
        descending = [
            (path, {**params, "sort_by": "name:desc", "limit": min(PAGE_SIZE, rest - offset), "offset": offset}
             | ({"total": "true"} if offset == 0 else {}))
            for offset in range(0, rest, PAGE_SIZE)
        ]
        seen = {item["id"] for item in head}
        yield from head
        tail: list[dict[str, Any]] = []
        for n, body in enumerate(self.in_order([*ascending, *descending])):
            items = body.get(wrapper, [])
            if n < len(ascending):
                seen.update(item["id"] for item in items)
                yield from items
                continue
            if n == len(ascending) and body.get("total") != total:
                raise ApiError(f"GET {path}: the listing changed while it was read from both ends; read it again")
            tail.extend(items)
        if len(tail) != rest or any(item["id"] in seen for item in tail):
            raise ApiError(f"GET {path}: names that sort as equal keep the {total} results from being read exactly"
                           " from both ends; narrow the listing with filters")
        yield from reversed(tail)

    def _first(self, path: str, params: Mapping[str, Any]) -> Any:
        return self._fetch(path, {**params, "limit": PAGE_SIZE, "offset": 0, "total": "true"})

    def _rest(self, path: str, wrapper: str, params: Mapping[str, Any], first: Any) -> Iterator[dict[str, Any]]:
        items = first.get(wrapper, [])
        yield from items
        if not first.get("more") or not items:
            return
        total = first.get("total")
        if total is None:  # no total: follow `more`, one page after the other
            yield from self._sequential(path, wrapper, params, len(items))
            return
        pages = ((path, {**params, "limit": PAGE_SIZE, "offset": offset}) for offset in range(len(items), total, PAGE_SIZE))
        for page in self.in_order(pages):
            yield from page.get(wrapper, [])

    def _sequential(self, path: str, wrapper: str, params: Mapping[str, Any], offset: int) -> Iterator[dict[str, Any]]:
        while True:
            body = self._fetch(path, {**params, "limit": PAGE_SIZE, "offset": offset})
            items = body.get(wrapper, [])
            yield from items
            if not body.get("more") or not items:
                return
            offset += len(items)

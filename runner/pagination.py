"""Reading PagerDuty listings: classic pages in parallel and in order, cursors, and time windows past the cap."""

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
DEFAULT_WINDOW = timedelta(days=30)  # what PagerDuty lists without since/until
LONGEST_WINDOW = timedelta(days=180)  # the longest since/until range PagerDuty accepts
SMALLEST_WINDOW = timedelta(seconds=1)


class Paginator:
    """Fetch listing pages through `fetch(path, params)`, up to `concurrency` at a time.

    `now` is the account's current time, where a listing's default window ends.
    """

    def __init__(self, fetch: Callable[[str, Mapping[str, Any]], Any], *, concurrency: int = 1,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._fetch = fetch
        self._now = now
        self._concurrency = max(1, concurrency)
        self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="pdrun-page")

    def classic(self, path: str, wrapper: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every object of a classic listing; more than the cap raises ApiError before any is yielded."""
        first = self._first(path, params)
        total = first.get("total")
        if total is not None and total > CLASSIC_PAGINATION_CAP:
            raise ApiError(
                f"GET {path}: {total} results, past PagerDuty's {CLASSIC_PAGINATION_CAP}-record pagination cap;"
                " narrow the listing with filters"
            )
        return self._rest(path, wrapper, params, first)

    def windowed(self, path: str, wrapper: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every object of a listing with a time range, read in windows each under the cap.

        Windows span at most the six months PagerDuty accepts, and are halved
        until each holds at most 10,000 objects. `date_range=all` is read as
        one listing when it fits, and otherwise from its oldest object on.
        """
        params = dict(params)
        until = parse_iso(params.pop("until")) if "until" in params else self._now()
        since = parse_iso(params.pop("since")) if "since" in params else until - DEFAULT_WINDOW
        if params.get("date_range") == "all":
            first = self._first(path, params)
            if (first.get("total") or 0) <= CLASSIC_PAGINATION_CAP:
                yield from self._rest(path, wrapper, params, first)
                return
            oldest = self._fetch(path, {**params, "sort_by": "created_at:asc", "limit": 1}).get(wrapper) or [{}]
            del params["date_range"]
            since, until = parse_iso(oldest[0].get("created_at", iso(since))), until + SMALLEST_WINDOW
        while since < until:
            end = min(until, since + LONGEST_WINDOW)
            yield from self._window(path, wrapper, params, since, end)
            since = end

    def cursor(self, path: str, wrapper: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every object of a cursor listing, one page after the other (each page names the next)."""
        cursor = None
        while True:
            body = self._fetch(path, {**params, "limit": PAGE_SIZE} | ({"cursor": cursor} if cursor else {}))
            yield from body.get(wrapper, [])
            cursor = body.get("next_cursor")
            if not cursor:
                return

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

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

    def in_order(self, reads: Iterable[tuple[str, Mapping[str, Any]]]) -> Iterator[Any]:
        """Fetch (path, params) reads concurrently, a bounded number ahead; hand the bodies back in order."""
        pending: deque[Future[Any]] = deque()
        try:
            for path, query in reads:
                context = contextvars.copy_context()  # observers (call counts, progress) follow the request
                pending.append(self._pool.submit(context.run, self._fetch, path, query))
                if len(pending) >= 2 * self._concurrency:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:  # a reader that stops early, or a page that failed: fetch nothing more
            for future in pending:
                future.cancel()

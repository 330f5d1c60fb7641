"""Concurrent, ordered, bounded-memory paging.

Fetch page 1 to learn `last_page`, then keep a sliding window of page requests in
flight and hand pages out strictly in order. At most `window` pages are held at once,
whatever the size of the listing.

The server is trusted only as far as its answers agree with each other: an empty page
ends a listing; a `last_page` far beyond what `total` needs is cut to what it needs;
the same page of ids over and over ends the run with ListingRunaway, not a loop.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .errors import ListingRunaway
from .protocol import PageMeta

REPEATS_ALLOWED = 3  # pages in a row with nothing new before a listing counts as runaway
SLACK_PAGES = 2  # pages past what `total` needs that we still read (tickets created meanwhile)


@dataclass
class Page:
    """One page of a listing: its number, its items and the server's meta (None if absent)."""

    number: int
    items: list[dict[str, Any]]
    meta: PageMeta | None


async def ordered_pages(
    fetch: Callable[[int], Awaitable[Page]],
    *,
    per_page: int,
    start: int = 1,
    window: int = 8,
) -> AsyncIterator[Page]:
    """Yield pages `start..last` in order, fetching up to `window` of them at once.

    `last_page` is re-read from every page, so a listing that grows while we read it
    is followed to its new end. A listing without `meta`, or one whose last page is
    still full while `total` says there is more, is continued one page at a time until
    a short page: meta that lies about the end never makes us stop early.
    """
    first = await fetch(start)
    yield first
    if not first.items:
        return
    last = believable_last_page(first.meta, per_page) if first.meta else start
    pending: deque[asyncio.Task[Page]] = deque()
    next_number = start + 1
    previous = first
    seen: set[Any] = set(_ids(first))
    repeats = 0
    try:
        while True:
            while next_number <= last and len(pending) < window:
                pending.append(asyncio.ensure_future(fetch(next_number)))
                next_number += 1
            if not pending:
                if not _may_continue(previous, per_page, read=next_number - 1):
                    return
                last = next_number  # the "last" page was full and more are said to exist
                continue
            page = await pending.popleft()
            if not page.items:
                return  # an empty page ends a listing, whatever meta says
            ids = _ids(page)
            repeats = repeats + 1 if seen.issuperset(ids) else 0  # any cycle, not only the previous page again
            seen.update(ids)
            if repeats >= REPEATS_ALLOWED:
                raise ListingRunaway(
                    f"the server sent {repeats} pages in a row with no item it had not sent before "
                    f"(up to page {page.number}): its paging is broken, so the listing would never end"
                )
            if page.meta:
                last = max(last, believable_last_page(page.meta, per_page))
            previous = page
            yield page
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


def believable_last_page(meta: PageMeta, per_page: int) -> int:
    """`last_page`, unless it is far beyond what `total` needs: then what `total` needs."""
    needed = max(1, -(-meta.total // max(1, per_page)))
    return min(meta.last_page, needed + SLACK_PAGES)


def _ids(page: Page) -> list[Any]:
    return [item.get("id") if isinstance(item, dict) else None for item in page.items]


def _may_continue(last_read: Page, per_page: int, *, read: int) -> bool:
    """After the supposed last page: is there evidence of more?"""
    if len(last_read.items) < per_page:
        return False
    return last_read.meta is None or last_read.meta.total > read * per_page

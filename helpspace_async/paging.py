"""Concurrent, ordered, bounded-memory paging.

Fetch page 1 to learn `last_page`, then keep a sliding window of page requests in
flight and hand pages out strictly in order. At most `window` pages are held at once,
whatever the size of the listing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .protocol import PageMeta


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
    last = first.meta.last_page if first.meta else start
    pending: deque[asyncio.Task[Page]] = deque()
    next_number = start + 1
    previous = first
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
            if page.meta and page.meta.last_page > last:
                last = page.meta.last_page
            previous = page
            yield page
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


def _may_continue(last_read: Page, per_page: int, *, read: int) -> bool:
    """After the supposed last page: is there evidence of more?"""
    if len(last_read.items) < per_page:
        return False
    return last_read.meta is None or last_read.meta.total > read * per_page

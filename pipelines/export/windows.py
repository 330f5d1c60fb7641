"""The verifying pass: a segment re-read as snapshot windows.

A day range whose tickets fit in one page is read in one request, so the answer is a
consistent snapshot of that range: every ticket that exists throughout the run and was
created in it is there, whatever is created or deleted elsewhere meanwhile (`created_at`
never changes, so no ticket moves between ranges). A range that turns out fuller than
a page is split in two; a single day fuller than a page is read page by page and
re-read until a read shows no evidence of change (best effort after MAX_DAY_ROUNDS).
Windows are independent, so they are read concurrently and finish in any order; the
ones not finished yet are what a checkpoint records.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from helpspace_async.paging import Page, ordered_pages

from .evidence import Evidence
from .plan import split_window

MAX_DAY_ROUNDS = 3
Window = tuple[date, date]


class WindowReader:
    """Reads windows through `fetch(created_between, page)` and hands their tickets to `write`."""

    def __init__(self, fetch: Callable[[str, int], Awaitable[Page]], write: Callable[[list[dict[str, Any]]], Awaitable[None]],
                 *, per_page: int, concurrency: int, since: Callable[[], float], seen: set[int],
                 on_done: Callable[[], None]) -> None:
        self.fetch = fetch
        self.write = write
        self.per_page = per_page
        self.concurrency = concurrency
        self.since = since
        self.seen = seen
        self.on_done = on_done  # a window finished: the caller may checkpoint `pending`
        self.pending: list[Window] = []
        self.unsettled: list[str] = []  # dense days that kept changing: best effort
        self.requests = 0

    async def run(self, windows: list[Window]) -> None:
        self.pending = list(windows)
        queue: asyncio.Queue[Window] = asyncio.Queue()
        for window in windows:
            queue.put_nowait(window)
        workers = [asyncio.ensure_future(self._worker(queue)) for _ in range(self.concurrency)]
        joined = asyncio.ensure_future(queue.join())
        try:
            done, _ = await asyncio.wait([joined, *workers], return_when=asyncio.FIRST_COMPLETED)
            for task in done:  # a worker only ends by failing: that error ends the pass
                if task is not joined and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            for task in (joined, *workers):
                task.cancel()
            await asyncio.gather(joined, *workers, return_exceptions=True)

    async def _worker(self, queue: asyncio.Queue[Window]) -> None:
        while True:
            window = await queue.get()
            try:
                halves = await self._read(window)
                self.pending.remove(window)
                for half in halves:
                    self.pending.append(half)
                    queue.put_nowait(half)
                self.on_done()
            finally:
                queue.task_done()

    async def _read(self, window: Window) -> list[Window]:
        """Read one window; the halves to read instead when it is fuller than a page."""
        first, last = window
        self.requests += 1
        page = await self.fetch(f"{first}/{last}", 1)
        total = page.meta.total if page.meta else len(page.items)
        if total <= self.per_page and len(page.items) >= total:
            await self.write(page.items)
            return []
        if first < last:
            return split_window(window)
        await self._dense_day(first)
        return []

    async def _dense_day(self, day: date) -> None:
        """A day fuller than a page: read it whole until one read shows no change."""
        for _ in range(MAX_DAY_ROUNDS):
            evidence = Evidence(since=self.since())
            read: set[int] = set()

            async def one(number: int) -> Page:
                self.requests += 1
                return await self.fetch(f"{day}/{day}", number)

            async for page in ordered_pages(one, per_page=self.per_page, window=self.concurrency):
                evidence.page(page.items, page.meta.total if page.meta else None, read)
                read.update(t["id"] for t in page.items if type(t.get("id")) is int)
                await self.write(page.items)
            if not evidence.found:
                return
        self.unsettled.append(f"{day} kept changing over {MAX_DAY_ROUNDS} reads ({evidence.reason()})")

"""Ordered concurrent paging with a bounded window, on a fake fetcher (no HTTP)."""

from __future__ import annotations

import asyncio
import random

from helpspace_async.paging import Page, ordered_pages
from helpspace_async.protocol import PageMeta


def fake_listing(total: int, per_page: int, *, meta: bool = True, lie_last: int | None = None):
    state = {"in_flight": 0, "max_in_flight": 0, "fetched": []}
    last = max(1, -(-total // per_page))

    async def fetch(n: int) -> Page:
        state["in_flight"] += 1
        state["max_in_flight"] = max(state["max_in_flight"], state["in_flight"])
        try:
            await asyncio.sleep(random.random() / 200)
        finally:
            state["in_flight"] -= 1
        state["fetched"].append(n)
        items = [{"id": total - i} for i in range((n - 1) * per_page, min(n * per_page, total))]
        m = PageMeta(n, lie_last if lie_last else last, per_page, total) if meta else None
        return Page(n, items, m)

    return fetch, state


async def test_pages_come_in_order_with_at_most_window_in_flight():
    fetch, state = fake_listing(1000, 10)
    numbers, ids = [], []
    async for page in ordered_pages(fetch, per_page=10, window=4):
        numbers.append(page.number)
        ids += [t["id"] for t in page.items]
    assert numbers == list(range(1, 101))
    assert ids == list(range(1000, 0, -1))
    assert 1 < state["max_in_flight"] <= 4


async def test_without_meta_we_read_on_until_a_short_page():
    fetch, _ = fake_listing(95, 10, meta=False)
    ids = [t["id"] async for p in ordered_pages(fetch, per_page=10) for t in p.items]
    assert len(ids) == 95 == len(set(ids))


async def test_meta_that_lies_about_the_last_page_does_not_stop_us_early():
    fetch, _ = fake_listing(95, 10, lie_last=3)
    ids = [t["id"] async for p in ordered_pages(fetch, per_page=10) for t in p.items]
    assert len(ids) == 95


async def test_stopping_early_cancels_what_is_in_flight():
    started, cancelled = [], []

    async def fetch(n: int) -> Page:
        started.append(n)
        if n > 2:  # pages beyond the second never answer in time
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.append(n)
                raise
        return Page(n, [{"id": n * 10 + i} for i in range(10)], PageMeta(n, 100, 10, 1000))

    pages = ordered_pages(fetch, per_page=10, window=6)
    began = asyncio.get_running_loop().time()
    async for page in pages:
        if page.number == 2:
            break
    await pages.aclose()
    assert sorted(cancelled) == [n for n in started if n > 2] and len(cancelled) == 5
    assert asyncio.get_running_loop().time() - began < 5


async def test_pages_that_cycle_without_repeating_their_neighbour_end_as_runaway():
    """A, B, C, A, B, C, ...: no page equals the one before it, yet nothing new comes after page 3."""
    import pytest

    from helpspace_async.errors import ListingRunaway

    fetched: list[int] = []

    async def fetch(n: int) -> Page:
        fetched.append(n)
        cycle = (n - 1) % 3
        return Page(n, [{"id": cycle * 10 + i} for i in range(10)], PageMeta(n, 10**9, 10, 10**10))

    with pytest.raises(ListingRunaway):
        async for _ in ordered_pages(fetch, per_page=10):
            pass
    assert len(fetched) < 20  # stopped within a few pages (plus the window in flight)

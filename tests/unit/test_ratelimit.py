"""The shared limiter on its own: budgets, probes, pauses, and what it reports."""

from __future__ import annotations

import asyncio
import time

import pytest

from helpspace_async import RateLimited
from helpspace_async.protocol import RateLimitInfo
from helpspace_async.ratelimit import RateLimiter


async def test_without_headers_nothing_is_paced():
    limiter = RateLimiter()
    seqs = [await limiter.acquire() for _ in range(50)]
    assert seqs == list(range(50)) and limiter.stats.throttled == 0


async def test_a_spent_budget_sends_one_probe_and_a_429_pauses_everyone():
    limiter = RateLimiter()
    first = await limiter.acquire()
    await limiter.release(first, RateLimitInfo(limit=2, remaining=0), status=200)
    probe = await limiter.acquire()  # budget spent, reset unknown: exactly one probe goes
    blocked = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0.05)
    assert not blocked.done()
    started = time.monotonic()
    await limiter.release(probe, RateLimitInfo(limit=2, remaining=0, retry_after=0.3), status=429)
    await blocked
    assert time.monotonic() - started >= 0.28 and limiter.stats.pauses == 1


async def test_waiting_is_reported_as_wall_time_not_per_worker():
    limiter = RateLimiter()
    seq = await limiter.acquire()
    await limiter.release(seq, RateLimitInfo(limit=5, remaining=0, retry_after=0.3), status=429)


    async def worker() -> None:  # as the client does: every request is answered
        got = await limiter.acquire()
        await limiter.release(got, RateLimitInfo(limit=100, remaining=50), status=200)

    started = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(8))), 10)
    elapsed = time.monotonic() - started
    assert 0.25 <= limiter.stats.waited <= elapsed + 0.05  # eight waiting workers are one pause, not eight


async def test_a_pause_longer_than_max_wait_is_refused_at_once():
    limiter = RateLimiter(max_wait=5)
    seq = await limiter.acquire()
    await limiter.release(seq, RateLimitInfo(limit=5, remaining=0, retry_after=3600), status=429)
    started = time.monotonic()
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire()
    assert "3600" in str(refused.value) and refused.value.final and refused.value.retry_after >= 3599
    assert time.monotonic() - started < 1


async def test_a_lower_cap_is_respected():
    limiter = RateLimiter(max_limit=10)
    seq = await limiter.acquire()
    await limiter.release(seq, RateLimitInfo(limit=100, remaining=99), status=200)
    assert limiter.available() == 9  # 99 left of 100, but we may use only 10 of them


def test_the_window_is_bracketed_by_what_was_observed_not_by_rounded_headers():
    from helpspace_async.ratelimit import WindowModel

    model = WindowModel()
    model.opened(100.0, 100.01)  # a fresh window: remaining = limit - 1
    model.refused(100.2, 100.21, reset_at=102.0, retry_after=2.0)  # rounded up: the true end is 101.5
    assert model.lo <= 1.5 <= model.hi and model.hi - model.lo <= 2.1
    ends = []
    for _ in range(12):  # each window: go at the planned end; the server's true window is 1.5 s
        start = model.start[0]
        planned = model.end()
        if planned - start >= 1.5:
            model.opened(planned, planned + 0.001)
        else:
            model.refused(planned, planned + 0.001, reset_at=None, retry_after=None)
            model.opened(start + 1.5, start + 1.501)  # the retry after the pause opens the next window
        ends.append(round(model.end() - model.start[0], 3))
    assert 1.5 <= model.hi <= 1.5 * 1.03 and model.lo <= 1.5  # learned within 3%, never believed early


def test_a_contradiction_means_the_window_changed_and_is_learned_again():
    from helpspace_async.ratelimit import WindowModel

    model = WindowModel(lo=1.9, hi=2.0, start=(0.0, 0.0))
    model.opened(1.0, 1.0)  # a fresh window after 1 s: the server's window is shorter now
    assert model.hi == 1.0 and model.lo == 0.0


async def test_cancelled_waiters_leave_the_limiter_whole():
    """Ctrl-C while workers wait for the budget: the waits end at once, and the limiter still works."""
    limiter = RateLimiter()
    first = await limiter.acquire()
    await limiter.release(first, RateLimitInfo(limit=2, remaining=0), status=200)
    probe = await limiter.acquire()
    waiters = [asyncio.ensure_future(limiter.acquire()) for _ in range(5)]
    await asyncio.sleep(0.05)
    started = time.monotonic()
    for w in waiters:
        w.cancel()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    assert time.monotonic() - started < 0.5
    # an answer after the cancellation wakes nobody wrongly and raises nothing
    await limiter.release(probe, RateLimitInfo(limit=2, remaining=1), status=200)
    assert await asyncio.wait_for(limiter.acquire(), 1.0) >= 2


async def test_cancelling_waiters_as_their_pause_ends_never_breaks_them():
    """The asyncio.Condition trap: a waiter cancelled just as its timed wait ends used to fail with
    `RuntimeError: Lock is not acquired` (seen as rejected records after Ctrl-C). 150 rounds of 20
    waiters, cancelled at random moments around a 3 ms pause: only cancellations, nothing else."""
    import random

    rng = random.Random(7)
    for _ in range(150):
        limiter = RateLimiter()
        first = await limiter.acquire()
        await limiter.release(first, RateLimitInfo(limit=2, remaining=0, retry_after=0.003), status=429)
        waiters = [asyncio.ensure_future(limiter.acquire()) for _ in range(20)]
        await asyncio.sleep(rng.random() * 0.01)
        for w in waiters:
            w.cancel()
        results = await asyncio.wait_for(asyncio.gather(*waiters, return_exceptions=True), 2)
        assert all(isinstance(r, (asyncio.CancelledError, int)) for r in results), results


@pytest.mark.parametrize("header", ["inf", "Infinity", "1e400", "nan", "-inf"])
async def test_a_retry_after_without_a_finite_end_is_refused_not_waited_for(header):
    from helpspace_async.protocol import parse_rate_limit

    info = parse_rate_limit({"Retry-After": header}, time.time())
    limiter = RateLimiter(max_wait=60)
    seq = await limiter.acquire()
    await limiter.release(seq, info, status=429)
    with pytest.raises(RateLimited) as refused:
        await asyncio.wait_for(limiter.acquire(), 1.0)
    assert refused.value.final and "max_wait" in str(refused.value)


def test_a_retry_after_date_is_measured_against_the_servers_clock():
    from email.utils import formatdate

    from helpspace_async.protocol import parse_rate_limit

    server_now = 2_000_000_000.0  # the server's clock is far from ours
    headers = {"Date": formatdate(server_now, usegmt=True), "Retry-After": formatdate(server_now + 30, usegmt=True)}
    info = parse_rate_limit(headers, time.time())
    assert info.retry_after == pytest.approx(30, abs=1)

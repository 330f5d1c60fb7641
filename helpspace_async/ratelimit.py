"""One request budget shared by every worker that uses a token.

The limiter learns the budget from the answers (`X-RateLimit-Limit/Remaining`), spends
it, and when it is gone waits for the window to reset instead of letting workers run
into 429s. A 429 pauses everyone until the server's reset, not each worker on its own.

How the budget is counted: within a window the server's `remaining` only goes down,
so the lowest value seen is the freshest; any request still in flight may already
have been counted, so `available = lowest remaining - requests in flight`. That holds
however the server orders concurrent requests. When the budget is spent and the reset
time is unknown, exactly one request goes out as a probe: its 429 tells the reset time
(and, from the window's first hit, the window length, so later windows need no probe).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from .errors import RateLimited
from .protocol import RateLimitInfo

RESET_MARGIN = 0.05  # seconds past a predicted reset before probing, for clock granularity


@dataclass
class LimiterStats:
    throttled: int = 0  # times a worker waited for the budget
    waited: float = 0.0  # wall-clock seconds during which at least one request was held back
    pauses: int = 0  # 429s that paused everyone


class RateLimiter:
    """Paces requests of one token; share one instance between clients of that token."""

    def __init__(
        self,
        *,
        max_limit: int | None = None,
        max_wait: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """`max_limit` caps the learned limit lower; `max_wait` is the longest pause we accept."""
        self.max_limit = max_limit
        self.max_wait = max_wait
        self._clock = clock
        self._wall = wall
        self.limit: int | None = None
        self.window: float | None = None  # learned window length in seconds
        self.stats = LimiterStats()
        self._sent = 0
        self._in_flight = 0
        self._remaining: int | None = None  # lowest `remaining` seen in this window
        self._paused_until = 0.0
        self._reset_at: float | None = None  # monotonic time the current window ends
        self._window_first_wall: float | None = None
        self._send_wall: dict[int, float] = {}
        self._probe: int | None = None
        self._cond: asyncio.Condition | None = None
        self._waiters = 0
        self._wait_started = 0.0

    def __repr__(self) -> str:
        return f"RateLimiter(limit={self.limit}, window={self.window}, available={self.available()})"

    # --- budget --------------------------------------------------------------------

    def available(self) -> int | None:
        """Requests we may still send in this window; None when unknown."""
        if self._remaining is None:
            return None
        remaining = self._remaining
        if self.max_limit is not None and self.limit is not None and self.limit > self.max_limit:
            remaining -= self.limit - self.max_limit
        return remaining - self._in_flight

    def _forget_budget(self) -> None:
        self._remaining = None

    def _wait_for(self, now: float) -> tuple[float | None, bool]:
        """(seconds to wait, or None to go now; whether the request that goes is a probe)."""
        if self._paused_until > now:
            return self._paused_until - now, False
        if self.limit is None:
            return None, False  # no rate-limit headers seen (yet): nothing to pace
        available = self.available()
        if available is not None and available > 0:
            return None, False
        if available is not None and self._reset_at is not None:
            if self._reset_at > now:
                return self._reset_at - now, False
            self._reset_at = None
            self._forget_budget()
        # Budget unknown or spent with no known reset: one probe at a time finds out.
        return (None, True) if self._probe is None else (math.inf, False)

    async def acquire(self) -> int:
        """Wait until a request may be sent; returns its sequence number for `release`."""
        if self._cond is None:
            self._cond = asyncio.Condition()
        async with self._cond:
            while True:
                now = self._clock()
                wait, probe = self._wait_for(now)
                if wait is None:
                    break
                if wait != math.inf and wait > self.max_wait:
                    refused = RateLimited(
                        f"the API asks us to wait {wait:.0f} s, more than max_wait={self.max_wait:.0f} s; "
                        "run again later (progress is saved) or allow a longer wait (--max-wait)",
                        retry_after=wait,
                        final=True,
                        status=429,
                    )
                    raise refused
                self.stats.throttled += 1
                if self._waiters == 0:
                    self._wait_started = self._clock()
                self._waiters += 1
                try:
                    await asyncio.wait_for(self._cond.wait(), min(wait, 1.0))  # re-check at least every second
                except asyncio.TimeoutError:
                    pass
                finally:
                    self._waiters -= 1
                    if self._waiters == 0:
                        self.stats.waited += self._clock() - self._wait_started
            seq = self._sent
            self._sent += 1
            self._in_flight += 1
            if probe:
                self._probe = seq
            self._send_wall[seq] = self._wall()
            return seq

    async def release(self, seq: int, info: RateLimitInfo | None, *, status: int | None = None) -> None:
        """Record what the answer to request `seq` said (None: no answer came)."""
        sent_wall = self._send_wall.pop(seq, None)
        self._in_flight -= 1
        was_probe = self._probe == seq
        if was_probe:
            self._probe = None
        if info is not None:
            self._learn(info, status, sent_wall, authoritative=was_probe)
        if self._cond is not None:
            async with self._cond:
                self._cond.notify_all()

    def _learn(self, info: RateLimitInfo, status: int | None, sent_wall: float | None, *, authoritative: bool) -> None:
        now, wall = self._clock(), self._wall()
        if info.limit is not None:
            self.limit = info.limit
        if info.remaining is not None and status != 429:
            if self._remaining is None or authoritative:
                self._remaining = info.remaining
            else:
                self._remaining = min(self._remaining, info.remaining)
            if self.limit is not None and info.remaining == self.limit - 1 and sent_wall is not None:
                # This request opened a new window (Laravel windows start at the first hit).
                self._window_first_wall = sent_wall
                if self.window is not None:
                    end_wall = math.floor(sent_wall) + self.window
                    self._reset_at = now + (end_wall - wall) + RESET_MARGIN
        if status == 429:
            self.stats.pauses += 1
            self._remaining = 0
            resume = self._resume_time(info, now, wall)
            self._reset_at = resume
            self._paused_until = max(self._paused_until, resume)
            if info.reset_at is not None and self._window_first_wall is not None:
                learned = info.reset_at - math.floor(self._window_first_wall)
                if 1 <= learned <= 3600:
                    self.window = learned

    def _resume_time(self, info: RateLimitInfo, now: float, wall: float) -> float:
        """When the budget is back: the reset epoch if it agrees with Retry-After, else Retry-After."""
        by_reset = info.reset_at - wall if info.reset_at is not None else None
        if by_reset is not None and (info.retry_after is None or abs(by_reset - info.retry_after) <= 1.5):
            return now + max(0.0, by_reset) + RESET_MARGIN
        if info.retry_after is not None:
            return now + info.retry_after
        return now + 1.0  # a 429 with no hint: back off a second

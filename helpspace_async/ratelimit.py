"""One request budget shared by every worker that uses a token.

The limiter learns the budget from the answers (`X-RateLimit-Limit/Remaining`), spends
it, and when it is gone waits for the window to reset instead of letting workers run
into 429s. A 429 pauses everyone until the server's reset, not each worker on its own.

How the budget is counted: within a window the server's `remaining` only goes down,
so the lowest value seen is the freshest; any request still in flight may already
have been counted, so `available = lowest remaining - requests in flight`. That holds
however the server orders concurrent requests. When the budget is spent and the reset
time is unknown, exactly one request goes out as a probe: its 429 tells the reset time.

When a window ends is learned from what we observe, not believed from headers: a
window opens with the first request after the last one closed (its answer shows
`remaining = limit - 1`), so the window's length is bracketed by what we saw (a fresh
window proves the last one had closed; a 429 proves it hadn't). Header values are
whole seconds rounded either way (gateways round `Retry-After` up, Laravel's reset can
be a second early), so they only narrow the bracket by what they can mean, +-1 s.
While the bracket is wide, the next window's first request goes out at its middle (a
probe that halves it); once narrow, at its top. A bracket that contradicts itself (the
server changed its window) is learned again.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from .errors import RateLimited
from .protocol import RateLimitInfo

RESET_MARGIN = 0.01  # seconds past a predicted reset before sending, for clock granularity
PRECISION = 0.02  # share of the window: a bracket this narrow is known well enough to stop probing
HEADER_NOISE = 1.0  # seconds: rate-limit headers are whole seconds, rounded either way
PROBE_RECHECK = 1.0  # seconds between looks while another request probes the budget
PROBE_AT = 0.6  # where in a wide bracket the next window is tried: past the middle, as a 429 costs more than a wait


@dataclass
class WindowModel:
    """The length W of the server's rate-limit window as far as observed: `lo < W <= hi`."""

    lo: float = 0.0
    hi: float = math.inf
    start: tuple[float, float] | None = None  # (sent, received) wall times of the current window's first request

    def opened(self, sent: float, received: float) -> None:
        """An answer showed a fresh window: the last one had closed by `received`."""
        if self.start is not None:
            self._narrow(hi=received - self.start[0])
        self.start = (sent, received)

    def refused(self, sent: float, received: float, *, reset_at: float | None, retry_after: float | None) -> None:
        """A 429 in the current window: it was still open when `sent` arrived; headers hint at its end."""
        if self.start is None:
            return
        first_sent, first_received = self.start
        self._narrow(lo=sent - first_received)
        if reset_at is not None:
            self._narrow(lo=reset_at - HEADER_NOISE - first_received, hi=reset_at + HEADER_NOISE - first_sent)
        if retry_after is not None:
            self._narrow(lo=sent + retry_after - HEADER_NOISE - first_received,
                         hi=received + retry_after + HEADER_NOISE - first_sent)

    def _narrow(self, *, lo: float | None = None, hi: float | None = None) -> None:
        new_lo = self.lo if lo is None else max(self.lo, lo)
        new_hi = self.hi if hi is None else min(self.hi, hi)
        if new_lo > new_hi:  # contradiction: the window changed, or timing misled us; keep only the newest
            new_lo, new_hi = (0.0 if lo is None else lo), (math.inf if hi is None else hi)
        self.lo, self.hi = new_lo, new_hi

    def length(self) -> float | None:
        """The length to plan the next window with: the bracket's middle while it is wide, else its top."""
        if self.hi == math.inf:
            return None
        if self.hi - self.lo > max(0.005, PRECISION * self.hi):
            return self.lo + PROBE_AT * (self.hi - self.lo)
        return self.hi

    def end(self) -> float | None:
        """When the current window closes, by the plan (wall time); None while unknown."""
        length = self.length()
        if self.start is None or length is None:
            return None
        return (self.start[0] + self.start[1]) / 2 + length


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
        self.model = WindowModel()
        self._send_wall: dict[int, float] = {}
        self._probe: int | None = None
        self._changed = asyncio.Event()  # set (and replaced) whenever an answer may have freed the budget
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
        return (None, True) if self._probe is None else (PROBE_RECHECK, False)

    async def acquire(self) -> int:
        """Wait until a request may be sent; returns its sequence number for `release`.

        No lock is held while waiting (the event loop runs one coroutine at a time, and
        nothing awaits between the check and the booking), so a cancelled waiter leaves
        nothing half-taken: Ctrl-C in a rate-limit pause always gets through.
        """
        while True:
            now = self._clock()
            wait, probe = self._wait_for(now)
            if wait is None:
                break
            if not wait <= self.max_wait:  # infinity and NaN included: every wait is finite
                raise RateLimited(
                    f"the API asks us to wait {_seconds(wait)}, more than max_wait={self.max_wait:.0f} s; "
                    "run again later (progress is saved) or allow a longer wait (--max-wait)",
                    retry_after=wait if math.isfinite(wait) else None,
                    final=True,
                    status=429,
                )
            self.stats.throttled += 1
            if self._waiters == 0:
                self._wait_started = self._clock()
            self._waiters += 1
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), min(wait, 1.0))  # re-check at least every second
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
        self._changed.set()  # wake every waiter to re-check; later waiters wait on a fresh event
        self._changed = asyncio.Event()

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
                # the whole second the server counted it in is known only if sending and answer fell in the same one
                self._window_first_wall = sent_wall if math.floor(sent_wall) == math.floor(wall) else None
                self.model.opened(sent_wall, wall)
                end = self.model.end()
                if end is not None:
                    self._reset_at = now + (end - wall) + RESET_MARGIN
        if status == 429:
            self.stats.pauses += 1
            self._remaining = 0
            if sent_wall is not None:
                self.model.refused(sent_wall, wall, reset_at=info.reset_at, retry_after=info.retry_after)
            end = self.model.end()
            resume = now + max(0.0, end - wall) + RESET_MARGIN if end is not None else self._resume_time(info, now, wall)
            self._reset_at = resume
            self._paused_until = max(self._paused_until, resume)
            if info.reset_at is not None and self._window_first_wall is not None:
                learned = info.reset_at - math.floor(self._window_first_wall)
                if 1 <= learned <= 3600:
                    self.window = learned  # the window the headers describe, for reports

    def _resume_time(self, info: RateLimitInfo, now: float, wall: float) -> float:
        """When the budget is back: the reset epoch if it agrees with Retry-After, else Retry-After."""
        by_reset = info.reset_at - wall if info.reset_at is not None else None
        if by_reset is not None and (info.retry_after is None or abs(by_reset - info.retry_after) <= 1.5):
            return now + max(0.0, by_reset) + RESET_MARGIN
        if info.retry_after is not None:
            return now + info.retry_after
        return now + 1.0  # a 429 with no hint: back off a second


def _seconds(wait: float) -> str:
    return f"{wait:.0f} s" if math.isfinite(wait) else "without end (the server named no finite time)"

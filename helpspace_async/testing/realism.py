"""What makes the embedded server behave like a real one under stress: a Laravel-style
rate limit, latency, injected faults, connections dropped after a create, churn.
All off by default."""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from dataclasses import dataclass, field

from aiohttp import web


class InjectedDrop(ConnectionResetError):
    """Raised after closing the socket on purpose; filtered out of the server log."""


class _HideInjectedDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], InjectedDrop))


logging.getLogger("aiohttp.server").addFilter(_HideInjectedDrops())


def drop_connection(request: web.Request) -> None:
    """Close the connection without an answer, as a crashed proxy or a network cut does."""
    if request.transport is not None:
        request.transport.close()
    raise InjectedDrop("connection dropped on purpose")


@dataclass
class Realism:
    """The knobs of `helpspace serve`; every one off by default."""

    rate_limit: int = 0  # requests per window per token; 0 = unlimited, no headers
    rate_window: float = 60.0
    rate_rounding: str = "laravel"  # laravel: windows on whole seconds, exact headers; up: windows start at
    # the first hit, headers rounded up to whole seconds (gateways); down: the same, rounded down (early)
    latency_ms: float = 0.0
    spike_rate: float = 0.0  # share of requests delayed by spike_ms on top
    spike_ms: float = 0.0
    fault_rate: float = 0.0  # share of requests answered 5xx or dropped
    drop_after_create: float = 0.0  # share of creates committed, then the connection dropped
    churn: int = 0  # tickets created and deleted per listing request
    churn_past: bool = False  # churned tickets get a random old created_at (a migration running meanwhile)
    order: str = "id_desc"  # listing order: id_desc, id_asc, created_desc, created_asc (the API doesn't say)
    bad_page_every: int = 0  # every Nth GET is answered 200 with a proxy's HTML page (deterministic)
    seed: int = 1
    rng: random.Random = field(init=False)
    stats: dict[str, int] = field(default_factory=lambda: {"requests": 0, "429": 0, "faults": 0, "drops_after_create": 0,
                                                            "html_200": 0})
    _windows: dict[str, tuple[float, int]] = field(default_factory=dict)
    windows: list[dict[str, float]] = field(default_factory=list)  # every rate window: start, allowed

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed * 7919)

    def window_efficiency(self) -> float | None:
        """Share of the budget used over the run's full windows (all but the last).

        Windows start at the first hit after the previous one expired (Laravel), so a
        client that is late, or leaves budget unused, shows up as less than 1.0.
        """
        if len(self.windows) < 2:
            return None
        span = self.windows[-1]["start"] - self.windows[0]["start"]
        used = sum(w["allowed"] for w in self.windows[:-1])
        return used / (self.rate_limit * span / self.rate_window)

    def rate_check(self, key: str) -> tuple[dict[str, str], web.Response | None]:
        """Laravel's fixed window: it starts at the first hit (whole seconds) and lasts rate_window."""
        if not self.rate_limit:
            return {}, None
        now = time.time()
        ends, attempts = self._windows.get(key, (0.0, 0))
        if now >= ends:
            start = math.floor(now) if self.rate_rounding == "laravel" else now
            ends, attempts = start + self.rate_window, 0
            self.windows.append({"start": start, "allowed": 0})
        if attempts >= self.rate_limit:
            self._windows[key] = (ends, attempts)
            self.stats["429"] += 1
            rounded = math.floor if self.rate_rounding == "down" else math.ceil
            headers = {
                "X-RateLimit-Limit": str(self.rate_limit),
                "X-RateLimit-Remaining": "0",
                "Retry-After": str(max(1 if self.rate_rounding != "down" else 0, rounded(ends - now))),
                "X-RateLimit-Reset": str(int(rounded(ends))),
            }
            return headers, web.json_response({"message": "Too Many Attempts."}, status=429, headers=headers)
        attempts += 1
        self._windows[key] = (ends, attempts)
        self.windows[-1]["allowed"] += 1
        return {"X-RateLimit-Limit": str(self.rate_limit), "X-RateLimit-Remaining": str(self.rate_limit - attempts)}, None

    async def delay(self) -> None:
        extra = self.spike_ms if self.spike_rate and self.rng.random() < self.spike_rate else 0.0
        if self.latency_ms or extra:
            await asyncio.sleep((self.latency_ms + extra) / 1000)

    def maybe_fault(self, request: web.Request) -> web.Response | None:
        """Before any work: a dropped connection, a 5xx, or (reads) a 200 that is an HTML page."""
        if self.bad_page_every and request.method == "GET" and self.stats["requests"] % self.bad_page_every == 0:
            return self._html_200()
        if not self.fault_rate or self.rng.random() >= self.fault_rate:
            return None
        self.stats["faults"] += 1
        kind = self.rng.random()
        if kind < 0.4:
            drop_connection(request)
        if kind > 0.8 and request.method == "GET":
            return self._html_200()
        status = 503 if request.method == "POST" else self.rng.choice([500, 502, 503, 504])
        return web.Response(status=status, text="<html><body><h1>Server Error</h1></body></html>", content_type="text/html")

    def _html_200(self) -> web.Response:
        self.stats["html_200"] += 1
        return web.Response(status=200, text="<html><body>Down for maintenance</body></html>", content_type="text/html")

    def should_drop_after_create(self) -> bool:
        hit = bool(self.drop_after_create) and self.rng.random() < self.drop_after_create
        if hit:
            self.stats["drops_after_create"] += 1
        return hit

"""Progress on stderr (tqdm) and the one-line summary at the end of a run."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from helpspace_async import HelpSpaceClient


@dataclass
class Progress:
    """A bar of `unit`s done of a total; silent when stderr is not a terminal or when disabled."""

    unit: str
    enabled: bool = True
    started: float = field(default_factory=time.monotonic)
    _bar: Any = None

    def start(self, total: int | None, description: str = "") -> None:
        show = self.enabled and sys.stderr.isatty()
        # smoothing=0: the rate is the average since the start, so the ETA already
        # includes the pauses a rate limit imposes, instead of a burst's optimism.
        self._bar = tqdm(total=total, unit=f" {self.unit}", desc=description, disable=not show,
                         file=sys.stderr, smoothing=0, dynamic_ncols=True)

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


def summary(what: str, count: int, elapsed: float, client: HelpSpaceClient, extra: str = "", noun: str = "tickets") -> str:
    """`exported 1,234 tickets in 3.2 s (385/s) · 30 requests · 0 × 429 · 1 retry`."""
    rate = count / elapsed if elapsed > 0 else 0.0
    s = client.stats
    parts = [
        f"{what} {count:,} {noun} in {elapsed:.1f} s ({rate:,.0f}/s)",
        f"{s.requests:,} requests",
        f"{s.rate_limited} × 429",
        f"{s.retries} retr{'y' if s.retries == 1 else 'ies'}",
    ]
    if client.limiter.stats.waited >= 0.5:
        parts.append(f"{client.limiter.stats.waited:.0f} s waiting for the rate limit")
    if extra:
        parts.append(extra)
    return " · ".join(parts)

"""Whether and when to try a request again (the rate limiter decides how fast).

Built on tenacity with `reraise=True`, so callers see our typed errors, never
`RetryError`. What is safe to retry depends on the method:

- GET, PATCH, DELETE: 429, 5xx, timeouts, dropped connections, and a success whose
  body is not JSON (a proxy's HTML page).
- POST (a create): only when the server certainly did not act on it: 429, 503, or a
  connection that was never made. Anything else ends as `AmbiguousCreate`, never resent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from .errors import (
    AmbiguousCreate,
    BadResponse,
    ConnectFailed,
    RateLimited,
    ServerError,
    TransportError,
)

T = TypeVar("T")
SAFE_METHODS = frozenset({"GET", "HEAD", "PATCH", "PUT", "DELETE"})


def is_retryable(method: str, exc: BaseException) -> bool:
    """Decide from the method and the error whether another attempt is safe and useful."""
    if isinstance(exc, AmbiguousCreate):
        return False
    if isinstance(exc, RateLimited):
        # the server refused before acting and the limiter holds everyone back; a pause
        # longer than we accept (`final`) is not worth retrying
        return not exc.final
    if isinstance(exc, ConnectFailed):
        return True
    if method.upper() in SAFE_METHODS:
        if isinstance(exc, ServerError):
            return exc.status in (500, 502, 503, 504)
        return isinstance(exc, (TransportError, BadResponse))  # an HTML page from a proxy passes
    return isinstance(exc, ServerError) and exc.status == 503


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long to keep trying one request."""

    max_attempts: int = 8
    backoff_initial: float = 0.25
    backoff_max: float = 20.0
    max_total: float = 300.0  # seconds from the first attempt; then the last error is raised

    async def call(
        self,
        method: str,
        attempt: Callable[[], Awaitable[T]],
        on_retry: Callable[[BaseException], None] | None = None,
    ) -> T:
        """Run `attempt` until it succeeds, fails for good, or the budget is spent."""
        try:  # the common case, without building the retry machinery
            return await attempt()
        except Exception as exc:
            if not is_retryable(method, exc) or self.max_attempts <= 1:
                raise
            first_failure = exc
        if on_retry:
            on_retry(first_failure)
        if not isinstance(first_failure, RateLimited):
            await asyncio.sleep(min(self.backoff_initial, self.backoff_max))
        return await self._retrying(method, on_retry)(attempt)

    def _retrying(self, method: str, on_retry: Callable[[BaseException], None] | None) -> AsyncRetrying:
        """The tenacity loop for the attempts after a first failure."""
        backoff = wait_random_exponential(multiplier=self.backoff_initial, max=self.backoff_max)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, RateLimited):
                return 0.0  # the shared limiter already pauses until the server's reset
            return backoff(state)

        def before_sleep(state: RetryCallState) -> None:
            failure = state.outcome.exception() if state.outcome is not None else None
            if on_retry and failure is not None:
                on_retry(failure)

        return AsyncRetrying(
            retry=retry_if_exception(lambda e: is_retryable(method, e)),
            wait=wait,
            stop=stop_after_attempt(self.max_attempts - 1) | stop_after_delay(self.max_total),
            before_sleep=before_sleep,
            reraise=True,
        )

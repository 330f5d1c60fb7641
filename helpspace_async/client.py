"""`HelpSpaceClient`: one aiohttp session, one rate budget, safe retries.

Every call goes through `request()`, which composes the pure protocol functions, the
retry policy and the shared rate limiter around `_send`, the only code that touches
aiohttp.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

import aiohttp
import orjson

from . import protocol
from .errors import (
    AmbiguousCreate,
    APIError,
    BadResponse,
    ConfigurationError,
    ConnectFailed,
    HelpSpaceError,
    RedirectRefused,
    ResponseTooLarge,
    TransportError,
    redact,
    redact_error,
)
from .ratelimit import RateLimiter
from .retry import RetryPolicy

logger = logging.getLogger("helpspace_async")
CLOCK_EVERY = 30.0  # seconds between readings of the server's clock
MAX_RESPONSE_BYTES = 64 * 1024 * 1024  # one decoded API answer; a page of 50 tickets is ~50 KB


@dataclass
class RawResponse:
    """What came back over the wire, before any interpretation."""

    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass
class ClientStats:
    """Counters a progress line or summary can show."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0  # answers with status 429
    errors: int = 0


def _env(name: str, given: str | None) -> str | None:
    return given if given is not None else os.environ.get(name)


class HelpSpaceClient:
    """Async client for the HelpSpace API. Use as `async with HelpSpaceClient(...) as hs:`.

    Settings left as None come from HELPSPACE_BASE_URL, HELPSPACE_TOKEN and
    HELPSPACE_CLIENT_ID. `concurrency` bounds requests in flight; the rate limiter
    (shareable between clients of one token) bounds how fast they go.
    """

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        client_id: str | None = None,
        *,
        concurrency: int = 8,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        token = _env("HELPSPACE_TOKEN", token)
        client_id = _env("HELPSPACE_CLIENT_ID", client_id)
        if not token:
            raise ConfigurationError("no API token: set HELPSPACE_TOKEN (or pass --token)")
        if not client_id:
            raise ConfigurationError("no client id: set HELPSPACE_CLIENT_ID (or pass --client-id)")
        if concurrency < 1:
            raise ConfigurationError(f"concurrency must be at least 1, got {concurrency}")
        self.base_url = protocol.check_base_url(
            _env("HELPSPACE_BASE_URL", base_url) or protocol.DEFAULT_BASE_URL
        )
        self.client_id = client_id
        self.__token = token
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.retry = retry or RetryPolicy()
        self.limiter = rate_limiter or RateLimiter()
        self.stats = ClientStats()
        self.clock_offset: float | None = None  # server clock minus ours, from Date headers
        self._clock_read_at = 0.0
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None
        from .resources import Customers, Media, Messages, Organizations, Tags, Tickets

        self.tickets = Tickets(self)
        self.customers = Customers(self)
        self.organizations = Organizations(self)
        self.tags = Tags(self)
        self.media = Media(self)
        self._messages_cls = Messages

    def __repr__(self) -> str:
        return f"HelpSpaceClient(base_url={self.base_url!r}, client_id={self.client_id!r}, token='***')"

    def server_now(self) -> float:
        """Now by the server's clock (as far as its Date headers tell; ours until one is seen)."""
        return time.time() + (self.clock_offset or 0.0)

    def redact(self, value: Any) -> Any:
        """`value` with this client's token and client id replaced by `***` (for text a server sent)."""
        return redact(value, (self.__token, self.client_id))

    def messages(self, ticket_id: int) -> Any:
        """The messages of one ticket."""
        return self._messages_cls(self, ticket_id)

    async def __aenter__(self) -> HelpSpaceClient:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.concurrency * 2, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                json_serialize=lambda o: orjson.dumps(o).decode(),
            )
            self._slots = asyncio.Semaphore(self.concurrency)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- the one way out -----------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | str | None = None,
        json: Any = None,
        sink: IO[bytes] | None = None,
        max_bytes: int | None = None,
    ) -> Any:
        """Send one API call with retries and pacing; return its decoded JSON.

        `params` is a mapping (arrays become `key[]`) or an already encoded query string.
        With `sink`, a successful body is streamed into it instead (for downloads), up to
        `max_bytes` if given; other answers are read up to `max_response_bytes`.
        Credentials go only to the API's own origin: a URL elsewhere (an attachment on a
        CDN) is fetched without them, and never over plain http to a remote host.
        """
        method = method.upper()
        url = protocol.absolute_url(self.base_url, path)
        query = params if isinstance(params, str) else protocol.encode_query(params or {})
        if query:
            url += ("&" if "?" in url else "?") + query
        body = orjson.dumps(json) if json is not None else None
        credentials = protocol.same_origin(url, self.base_url)
        if not credentials:
            protocol.check_fetch_url(url)
        shown_path = path if path.startswith("/") else "/" + path.split("/", 3)[-1]
        limit = max_bytes if sink is not None else self.max_response_bytes

        async def attempt() -> Any:
            target, with_credentials = url, credentials
            for _ in range(protocol.MAX_REDIRECTS + 1):
                if sink is not None:
                    sink.seek(0)
                    sink.truncate()
                headers = self._headers(with_credentials, body is not None)
                raw = await self._paced_send(method, target, shown_path, headers, body, sink, limit)
                location = protocol.header(raw.headers, "Location")
                if raw.status not in protocol.REDIRECTS or not location:
                    break
                if method == "POST":  # following would send the create again: look it up instead
                    raise AmbiguousCreate(
                        f"POST {shown_path} was answered with a redirect ({raw.status}); the server may have "
                        "created it. It is looked up, never sent again.",
                        method=method, path=shown_path, body=json)
                target, with_credentials = protocol.redirect_target(
                    target, location, self.base_url, method=method, download=sink is not None
                )
            else:
                raise RedirectRefused(f"{method} {shown_path}: more than {protocol.MAX_REDIRECTS} redirects")
            if sink is not None and raw.status == 200:
                return None
            if sink is not None and 200 < raw.status < 300:  # 204 empty, 206 partial: not the whole file
                raise BadResponse(f"GET {shown_path} answered {raw.status}, not the whole file (200)")
            return protocol.decode_response(
                raw.status, raw.headers, raw.body, method=method, path=shown_path, now=time.time()
            )

        def on_retry(exc: BaseException) -> None:
            self.stats.retries += 1
            logger.info("retrying %s %s after %s", method, shown_path, type(exc).__name__)

        try:
            return await self.retry.call(method, attempt, on_retry)
        except HelpSpaceError as exc:
            if isinstance(exc, (APIError, TransportError)):
                self.stats.errors += 1
            redact_error(exc, (self.__token, self.client_id))  # in place: the same error, its text cleaned
            raise

    def _headers(self, with_credentials: bool, with_body: bool) -> dict[str, str]:
        if with_credentials:
            return protocol.build_headers(self.__token, self.client_id, with_body=with_body)
        return protocol.build_headers(None, None, with_body=with_body)

    async def _paced_send(
        self,
        method: str,
        url: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None,
        sink: IO[bytes] | None,
        limit: int | None,
    ) -> RawResponse:
        if self._session is None or self._slots is None:
            raise ConfigurationError("the client is not open: use `async with HelpSpaceClient(...)`")
        async with self._slots:
            seq = await self.limiter.acquire()
            raw: RawResponse | None = None
            try:
                raw = await self._send(method, url, path, headers, body, sink, limit)
            finally:
                info = protocol.parse_rate_limit(raw.headers, time.time()) if raw else None
                await self.limiter.release(seq, info, status=raw.status if raw else None)
        self.stats.requests += 1
        if self._clock_read_at < time.monotonic() - CLOCK_EVERY:
            server = protocol.server_time(raw.headers)
            if server is not None:
                self.clock_offset, self._clock_read_at = server - time.time(), time.monotonic()
        if raw.status == 429:
            self.stats.rate_limited += 1
        logger.debug("%s %s -> %s", method, path, raw.status)
        return raw

    async def _send(
        self,
        method: str,
        url: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None,
        sink: IO[bytes] | None = None,
        limit: int | None = None,
    ) -> RawResponse:
        """The only place that touches aiohttp: send, read (bounded), and map failures to our errors."""
        assert self._session is not None
        try:
            async with self._session.request(method, url, headers=headers, data=body, allow_redirects=False) as resp:
                into = sink if sink is not None and 200 <= resp.status < 300 else None
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.content.iter_any():  # decompressed; counted before it is kept
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise ResponseTooLarge(
                            f"{method} {path}: the answer is over {limit / 2**20:.0f} MB (after decompression), "
                            "more than this client accepts (--max-response-mb / --max-embed-mb)",
                            limit=limit,
                        )
                    if into is not None:
                        into.write(chunk)
                    else:
                        chunks.append(chunk)
                return RawResponse(resp.status, resp.headers, b"".join(chunks))
        except aiohttp.ClientSSLError as exc:
            raise ConfigurationError(
                f"TLS verification failed for {path}: {type(exc).__name__}. Verification stays on; "
                "fix the certificate or the base URL."
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise ConnectFailed(
                f"{method} {path}: cannot connect ({exc.os_error}); check HELPSPACE_BASE_URL and the network",
                method=method,
                path=path,
            ) from None
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            reason = "timed out" if isinstance(exc, asyncio.TimeoutError) else f"connection lost ({type(exc).__name__})"
            if method == "POST":
                raise AmbiguousCreate(
                    f"POST {path}: {reason} after sending; the server may have created it. "
                    "Look it up before sending again.",
                    method=method,
                    path=path,
                    body=orjson.loads(body) if body else None,
                ) from None
            raise TransportError(f"{method} {path}: {reason}", method=method, path=path) from None


__all__ = ["HelpSpaceClient", "ClientStats", "RawResponse"]

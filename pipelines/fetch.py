"""Downloads from another helpdesk (attachments, inline images) during a migration.

One aiohttp session for the whole import, the client's retry policy (tenacity), and
the source's credentials sent only where they belong: to the source helpdesk's own
hosts (its known domains, or the hosts of --source-url), never over plain http to a
remote host, and never to an image host that a migrated message body happens to name.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import aiohttp

from helpspace_async import RetryPolicy
from helpspace_async.errors import APIError, ConnectFailed, ServerError, TransportError
from helpspace_async.protocol import is_loopback_host, origin

DOWNLOAD_TIMEOUT = 120.0
SOURCE_HOSTS: dict[str, tuple[str, ...]] = {  # where each helpdesk serves its files (and wants its token)
    "zendesk": ("*.zendesk.com", "*.zdusercontent.com"),
    "freshdesk": ("*.freshdesk.com", "*.freshworks.com"),
    "helpscout": ("api.helpscout.net", "*.helpscout.net"),
}


def host_pattern(url_or_host: str) -> str:
    """`https://acme.zendesk.com/...` -> `acme.zendesk.com`; a port is kept when it isn't the default."""
    if "://" not in url_or_host:
        return url_or_host.lower()
    scheme, host, port = origin(url_or_host)
    default = 443 if scheme == "https" else 80
    return host if port == default else f"{host}:{port}"


def credentials_allowed(url: str, hosts: tuple[str, ...]) -> bool:
    """Whether the source's credentials may go with a request to `url`."""
    scheme, host, port = origin(url)
    if scheme != "https" and not (scheme == "http" and is_loopback_host(host)):
        return False
    for pattern in hosts:
        name, _, want_port = pattern.partition(":")
        if want_port and int(want_port) != port:
            continue
        if name == host or (name.startswith("*.") and host.endswith(name[1:])):
            return True
    return False


SIGNED_QUERY_KEYS = {"x-amz-expires", "x-amz-signature", "x-goog-expires", "x-goog-signature", "se", "expires"}


def expires(url: str) -> bool:
    """Whether a link is pre-signed to expire (S3's X-Amz-Expires, GCS, Azure SAS `se`,
    CloudFront `Expires`): kept as a link, it dies after minutes or hours."""
    query = urlsplit(url).query
    return any(key.lower() in SIGNED_QUERY_KEYS for key, _ in parse_qsl(query, keep_blank_values=True))


@dataclass
class Downloaded:
    data: bytes
    mime_type: str
    next_url: str | None = None  # a Link header's rel="next" (Freshdesk pages its lists that way)


class SourceFetcher:
    """GETs files from the source helpdesk; use as `async with SourceFetcher(...) as fetch:`."""

    def __init__(self, token: str | None = None, *, user: str | None = None, auth: str = "bearer",
                 hosts: tuple[str, ...] = (), retry: RetryPolicy | None = None) -> None:
        self._token = token
        self._user = user
        self.auth = "basic" if user else auth
        self.hosts = hosts
        self._retry = retry or RetryPolicy(max_attempts=3, backoff_initial=0.2, backoff_max=2.0, max_total=60)
        self._session: aiohttp.ClientSession | None = None
        self.downloaded = 0

    def __repr__(self) -> str:
        return "SourceFetcher(token='***')" if self._token else "SourceFetcher()"

    async def __aenter__(self) -> SourceFetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def credentials_for(self, url: str) -> dict[str, str]:
        """The headers that may go with a request to `url`: the token only to the source's hosts."""
        if not self._token or not credentials_allowed(url, self.hosts):
            return {}
        if self.auth == "basic":  # Zendesk: "you@acme.com/token" + API token; Freshdesk: API key + "X"
            user, password = (self._user, self._token) if self._user else (self._token, "X")
            return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
        return {"Authorization": f"Bearer {self._token}"}

    async def get(self, url: str, *, counted: bool = True) -> Downloaded:
        """The file at `url`; our typed errors (APIError with the status, TransportError) on failure.
        `counted`: an attachment (reported as downloaded), not a call to the source's API."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=DOWNLOAD_TIMEOUT))
        headers = self.credentials_for(url)

        async def attempt() -> Downloaded:
            return await self._get_once(url, headers)

        result = await self._retry.call("GET", attempt)
        self.downloaded += counted
        return result

    async def _get_once(self, url: str, headers: dict[str, str]) -> Downloaded:
        assert self._session is not None
        try:
            async with self._session.get(url, headers=headers) as resp:
                if resp.status == 200:
                    mime = resp.headers.get("Content-Type", "application/octet-stream").split(";")[0]
                    link = resp.links.get("next")
                    return Downloaded(await resp.read(), mime, str(link["url"]) if link else None)
                if resp.status >= 500 or resp.status == 429:  # worth another try (429 as a busy server)
                    raise ServerError(f"HTTP {resp.status}", status=503 if resp.status == 429 else resp.status)
                raise APIError(f"HTTP {resp.status}", status=resp.status)
        except aiohttp.ClientConnectorError as exc:
            raise ConnectFailed(type(exc).__name__) from None
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise TransportError(type(exc).__name__) from None

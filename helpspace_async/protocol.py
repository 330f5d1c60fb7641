"""The HelpSpace HTTP protocol as pure functions: no I/O, no clocks read, no globals.

Everything the client needs to know about the wire lives here, so a wrong assumption
about the API (see API.md) is fixed in one place and tested without a network.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import orjson

from .errors import (
    APIError,
    AuthError,
    BadResponse,
    ConfigurationError,
    NotFound,
    RateLimited,
    RedirectRefused,
    ServerError,
    UnsafeURL,
    ValidationError,
)

DEFAULT_BASE_URL = "https://api.helpspace.com"
API_PREFIX = "/api/v1"
MAX_PER_PAGE = 50
TICKET_STATUSES = ("open", "escaleted", "waiting", "closed", "spam")  # sic: the API's spelling

# Python keyword -> the API's query parameter, for ticket listings (documented filters).
TICKET_FILTERS = {
    "status": "status",
    "tags": "tags",
    "subject": "subject",
    "body": "body",
    "subject_or_body": "subject-or-body",
    "contacts": "contacts",
    "assignees": "assignees",
    "teams": "teams",
    "created_between": "created-between",
    "last_contact_between": "last-contact-between",
}
ARRAY_FILTERS = {"status", "tags", "subject", "body", "subject-or-body", "contacts", "assignees", "teams"}


# --- settings -------------------------------------------------------------------------


def is_loopback_host(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> str:
    """Return the base URL without a trailing slash, or refuse an unsafe one.

    Plain http would send the token in clear text, so it is allowed only to loopback.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"HELPSPACE_BASE_URL must look like https://api.helpspace.com, got {url!r}"
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigurationError(
            f"refusing plain http:// to {parts.hostname}: the token would travel unencrypted. "
            "Use https://, or http:// only to a local server (127.0.0.1, localhost)."
        )
    return url.strip().rstrip("/")


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with the default port filled in: what "same origin" compares."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def same_origin(url: str, base_url: str) -> bool:
    """Whether `url` is on the API's own origin: the only place credentials may go."""
    return origin(url) == origin(base_url)


def check_fetch_url(url: str) -> None:
    """Refuse a server-provided URL that would be fetched over plain http from a remote host."""
    scheme, host, _ = origin(url)
    if scheme not in ("http", "https") or not host:
        raise UnsafeURL(f"refusing to fetch {url[:200]!r}: not an http(s) URL")
    if scheme == "http" and not is_loopback_host(host):
        raise UnsafeURL(f"refusing to fetch {url[:200]!r}: plain http:// to a remote host")


REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5


def redirect_target(current: str, location: str, base_url: str, *, method: str, download: bool) -> tuple[str, bool]:
    """Where a redirect leads and whether credentials may go along.

    On the API's origin: followed with credentials. Elsewhere: a file download (a CDN,
    a pre-signed bucket URL) is followed without them; an API call is refused, so
    neither the token nor the client id ever leaves for an origin we weren't given.
    """
    target = urljoin(current, location)
    if same_origin(target, base_url):
        return target, True
    if download and method == "GET":
        check_fetch_url(target)
        return target, False
    raise RedirectRefused(
        f"{method} {urlsplit(current).path} was redirected to another origin ({origin(target)[1]}); "
        "credentials are sent only to HELPSPACE_BASE_URL. If the API really moved, set HELPSPACE_BASE_URL to it."
    )


def build_headers(token: str | None, client_id: str | None, *, with_body: bool = False) -> dict[str, str]:
    """The two documented auth headers (None: a request to another origin, without them),
    plus JSON content negotiation."""
    headers = {"Accept": "application/json", "Accept-Encoding": "gzip, deflate"}
    if token is not None and client_id is not None:
        headers = {"Authorization": f"Bearer {token}", "Hs-Client-Id": client_id, **headers}
    if with_body:
        headers["Content-Type"] = "application/json; charset=utf-8"
    return headers


# --- requests -------------------------------------------------------------------------


def api_path(*parts: object) -> str:
    """`api_path("tickets", 5, "messages")` -> `/api/v1/tickets/5/messages`."""
    return API_PREFIX + "".join(f"/{p}" for p in parts)


def encode_query(params: Mapping[str, Any]) -> str:
    """Encode a query string; list values repeat the key with brackets (`status[]=a&status[]=b`)."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple, set, frozenset)):
            name = key if key.endswith("[]") else f"{key}[]"
            pairs.extend((name, _scalar(v)) for v in value)
        else:
            pairs.append((key, _scalar(value)))
    return urlencode(pairs)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def date_range(value: str | tuple[date | str, date | str]) -> str:
    """`(d1, d2)` or `"d1/d2"` -> `"YYYY-MM-DD/YYYY-MM-DD"`, the API's between format."""
    if isinstance(value, str):
        first, sep, last = value.partition("/")
        if not sep:
            raise ValueError(f"a date range looks like 2024-01-01/2024-12-31, got {value!r}")
        start_s, end_s = first, last
    else:
        start_s, end_s = _scalar(value[0]), _scalar(value[1])
    for d in (start_s, end_s):
        date.fromisoformat(d)  # raises ValueError with the offending text
    return f"{start_s}/{end_s}"


def ticket_filter_params(**filters: Any) -> dict[str, Any]:
    """Map Python keyword filters to the API's parameters; unknown keywords are an error."""
    params: dict[str, Any] = {}
    for name, value in filters.items():
        if name not in TICKET_FILTERS:
            raise TypeError(f"unknown ticket filter {name!r}; known: {', '.join(TICKET_FILTERS)}")
        if value is None or value == [] or value == ():
            continue
        api_name = TICKET_FILTERS[name]
        if api_name in ARRAY_FILTERS:
            params[api_name] = [value] if isinstance(value, (str, int)) else list(value)
        else:
            params[api_name] = date_range(value)
    for status in params.get("status", []):
        if status not in TICKET_STATUSES:
            raise ValueError(f"unknown status {status!r}; the API knows {', '.join(TICKET_STATUSES)}")
    return params


def page_params(page: int, per_page: int) -> dict[str, int]:
    """`page` and `per-page` (hyphen, 1..50: the API's own spelling and limits)."""
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be 1..{MAX_PER_PAGE}, got {per_page}")
    if page < 1:
        raise ValueError(f"page is 1-based, got {page}")
    return {"page": page, "per-page": per_page}


# --- responses ------------------------------------------------------------------------


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup that works on plain dicts too."""
    value = headers.get(name)
    if value is not None:
        return value
    lname = name.lower()
    for key, val in headers.items():
        if key.lower() == lname:
            return val
    return None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP date (`now`: the
    server's clock when its Date header says it). Never negative; a value that names no
    finite time (`inf`, `1e400`, `NaN`) is infinite, so that `max_wait` refuses it."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else math.inf
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)


@dataclass(frozen=True)
class RateLimitInfo:
    """What one answer said about the token's request budget."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None  # epoch seconds when the budget is back
    retry_after: float | None = None  # seconds, from Retry-After


def server_time(headers: Mapping[str, str]) -> float | None:
    """The server's clock (epoch seconds) from its Date header; None when absent or unreadable."""
    value = header(headers, "Date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def parse_rate_limit(headers: Mapping[str, str], now: float) -> RateLimitInfo:
    """Read `X-RateLimit-Limit/Remaining/Reset` and `Retry-After`; absent values stay None."""

    def as_int(name: str) -> int | None:
        raw = header(headers, name)
        try:
            return int(raw) if raw is not None else None
        except ValueError:
            return None

    retry_after = parse_retry_after(header(headers, "Retry-After"), server_time(headers) or now)
    reset = as_int("X-RateLimit-Reset")
    return RateLimitInfo(
        limit=as_int("X-RateLimit-Limit"),
        remaining=as_int("X-RateLimit-Remaining"),
        reset_at=float(reset) if reset is not None else None,
        retry_after=retry_after,
    )


@dataclass(frozen=True)
class PageMeta:
    """The paginator's `meta`: which page this is and how many there are."""

    current_page: int
    last_page: int
    per_page: int
    total: int


def parse_page(body: Any) -> tuple[list[dict[str, Any]], PageMeta | None]:
    """Split a page envelope into its items and meta; meta is None when missing or unreadable."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise BadResponse("a page must be a JSON object with a 'data' list")
    meta = body.get("meta")
    try:
        if not isinstance(meta, dict):
            raise TypeError("no meta object")
        parsed = PageMeta(
            current_page=int(meta["current_page"]),
            last_page=int(meta["last_page"]),
            per_page=int(meta["per_page"]),
            total=int(meta["total"]),
        )
    except (TypeError, KeyError, ValueError):
        parsed = None
    return body["data"], parsed


def unwrap_object(body: Any) -> dict[str, Any]:
    """`{"data": {...}}` -> the object."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise BadResponse("expected a JSON object with a 'data' object")
    data: dict[str, Any] = body["data"]
    return data


def decode_json(raw: bytes) -> Any:
    """Parse a JSON body; an empty body is None."""
    if not raw.strip():
        return None
    return orjson.loads(raw)


def request_id(headers: Mapping[str, str]) -> str | None:
    return header(headers, "X-Request-Id") or header(headers, "X-Request-ID")


def error_for(
    status: int, headers: Mapping[str, str], raw: bytes, *, method: str, path: str, now: float
) -> APIError:
    """Build the typed error for an error status, with a message that says what to do next."""
    try:
        body = decode_json(raw)
    except orjson.JSONDecodeError:
        body = raw[:500].decode("utf-8", "replace")
    server_message = body.get("message") if isinstance(body, dict) else None
    common = {"status": status, "method": method, "path": path, "body": body, "request_id": request_id(headers)}
    if status in (401, 403):
        hint = (
            "check HELPSPACE_TOKEN and HELPSPACE_CLIENT_ID"
            if status == 401
            else "the token lacks permission for this call"
        )
        return AuthError(f"{server_message or 'Unauthenticated.'} ({hint})", **common)
    if status == 404:
        return NotFound(server_message or "Not found.", **common)
    if status == 422:
        errors = body.get("errors") if isinstance(body, dict) else None
        field_errors = {
            str(k): [str(x) for x in (v if isinstance(v, list) else [v])]
            for k, v in (errors or {}).items()
        }
        return ValidationError(server_message or "The given data was invalid.", field_errors=field_errors, **common)
    if status == 429:
        info = parse_rate_limit(headers, now)
        wait = info.retry_after
        if wait is None and info.reset_at is not None:
            wait = max(0.0, info.reset_at - now)
        return RateLimited(server_message or "Too Many Attempts.", retry_after=wait, **common)
    if status >= 500:
        text = server_message or (body[:200] if isinstance(body, str) else "server error")
        return ServerError(str(text).strip() or "server error", **common)
    return APIError(server_message or f"unexpected status {status}", **common)


def decode_response(
    status: int, headers: Mapping[str, str], raw: bytes, *, method: str, path: str, now: float
) -> Any:
    """Return the decoded JSON of a success, or raise the typed error for a failure."""
    if status >= 400:
        raise error_for(status, headers, raw, method=method, path=path, now=now)
    try:
        return decode_json(raw)
    except orjson.JSONDecodeError as exc:
        snippet = raw[:80].decode("utf-8", "replace")
        raise BadResponse(
            f"{method} {path}: status {status} but the body is not JSON ({snippet!r}...)",
            method=method,
            path=path,
            status=status,
        ) from exc


def created_id(body: Any, *, method: str, path: str) -> int:
    """The id of what a create made; a 2xx without one is not proof of anything."""
    created = unwrap_object(body)
    value = created.get("id")
    if type(value) is not int:
        raise BadResponse(f"{method} {path}: the answer has no numeric id", method=method, path=path, status=201)
    return value


def absolute_url(base_url: str, url_or_path: str) -> str:
    """Media URLs may be absolute or relative to the base URL."""
    if url_or_path.startswith(("http://", "https://")):
        return url_or_path
    return base_url + ("" if url_or_path.startswith("/") else "/") + url_or_path



"""Every error the client raises, in one tree.

    HelpSpaceError                  base: catch this to catch everything below
    ├── ConfigurationError          bad settings (missing token, plain http to a remote host)
    ├── TransportError              no usable HTTP answer (timeout, refused, dropped connection)
    │   ├── ConnectFailed           the connection was never made: nothing was received
    │   └── AmbiguousCreate         a POST was sent but its answer never came: it may exist
    ├── APIError                    the server answered with an error status
    │   ├── AuthError               401/403: credentials wrong or lacking permission
    │   ├── NotFound                404
    │   ├── ValidationError         422: `field_errors` maps field paths to reasons
    │   ├── RateLimited             429: `retry_after` seconds until the budget is back;
    │   │                           `final` when the wait is longer than we accept
    │   └── ServerError             5xx
    ├── BadResponse                 2xx whose body is not what the API documents
    └── ServerMisbehaved            answers we refuse to follow; never retried
        ├── RedirectRefused         a redirect to another origin (credentials stay home)
        ├── UnsafeURL               a URL from the server that would go over plain http to a remote host
        ├── ResponseTooLarge        a body larger than the limit set for it (checked while reading)
        └── ListingRunaway          pages that never end, or repeat the same items

Errors carry the method and path of the request, never its headers, so the token
cannot leak through `str()`, `repr()` or a log line; text the server sent (a message,
a body, field errors) has the token and client id replaced by `***` before it is raised.
"""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import quote


class HelpSpaceError(Exception):
    """Base of every error raised by helpspace_async."""


class ConfigurationError(HelpSpaceError):
    """Settings are missing or unsafe; nothing was sent."""


class TransportError(HelpSpaceError):
    """The request got no usable HTTP answer: timeout, refused or dropped connection."""

    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        super().__init__(message)
        self.method = method
        self.path = path


class ConnectFailed(TransportError):
    """The connection was never established, so the request was certainly not received."""


class AmbiguousCreate(TransportError):
    """A create was sent but no answer came back: the ticket may or may not exist.

    Never resend blindly; look it up first. `body` is the JSON that was sent.
    """

    def __init__(self, message: str, *, method: str, path: str, body: Any) -> None:
        super().__init__(message, method=method, path=path)
        self.body = body


class APIError(HelpSpaceError):
    """The server answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str = "",
        path: str = "",
        body: Any = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        self.body = body
        self.request_id = request_id

    def __str__(self) -> str:
        where = f"{self.method} {self.path}: " if self.method else ""
        rid = f" (request id {self.request_id})" if self.request_id else ""
        return f"{where}{self.status} {self.message}{rid}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, method={self.method!r}, path={self.path!r}, message={self.message!r})"


class AuthError(APIError):
    """401/403: check HELPSPACE_TOKEN and HELPSPACE_CLIENT_ID. Not retried."""


class NotFound(APIError):
    """404: the object does not exist (or was deleted)."""


class ValidationError(APIError):
    """422: the server rejected the fields listed in `field_errors`. Not retried."""

    def __init__(self, message: str, *, field_errors: dict[str, list[str]], **kw: Any) -> None:
        super().__init__(message, **kw)
        self.field_errors = field_errors

    def __str__(self) -> str:
        fields = "; ".join(f"{k}: {', '.join(v)}" for k, v in self.field_errors.items())
        return f"{super().__str__()}" + (f" [{fields}]" if fields else "")


class RateLimited(APIError):
    """429: the token's request budget is spent; `retry_after` says for how long."""

    def __init__(self, message: str, *, retry_after: float | None, final: bool = False, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after
        self.final = final  # our own refusal: the pause asked for is longer than max_wait


class ServerError(APIError):
    """5xx: the server failed; reads are retried, creates are not."""


class BadResponse(HelpSpaceError):
    """A success status whose body is not the documented shape (HTML, truncated JSON...)."""

    def __init__(self, message: str, *, method: str = "", path: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.status = status


class ServerMisbehaved(HelpSpaceError):
    """The server sent something we refuse to follow (see the subclasses). Not retried:
    the same answer would come again. Progress is saved; the message names the problem."""


class RedirectRefused(ServerMisbehaved):
    """An API call was redirected to another origin; credentials go only to HELPSPACE_BASE_URL."""


class UnsafeURL(ServerMisbehaved):
    """A URL the server sent would be fetched over plain http from a remote host."""


class ResponseTooLarge(ServerMisbehaved):
    """A response body grew past `limit` bytes (after decompression) while it was read."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class ListingRunaway(ServerMisbehaved):
    """A listing that never ends: `last_page` far beyond `total`, or the same page again and again."""


MIN_SECRET = 4  # shorter "secrets" (test values like "t") would garble every message


def secret_forms(secrets: tuple[str, ...]) -> tuple[str, ...]:
    """Each secret as a server or a URL may carry it: as is, URL-encoded, and base64 (of itself and
    of Basic auth's `user:secret`-style pairs it may end)."""
    forms: set[str] = set()
    for secret in secrets:
        if len(secret) < MIN_SECRET:
            continue
        forms.update({secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode().rstrip("=")})
    return tuple(sorted(forms, key=len, reverse=True))


def redact(value: Any, secrets: tuple[str, ...]) -> Any:
    """`value` (text, or JSON-like data) with every secret replaced by `***`, whatever its case or form."""
    forms = secret_forms(secrets)
    if not forms:
        return value
    pattern = re.compile("|".join(re.escape(f) for f in forms), re.IGNORECASE)
    return _redact(value, pattern)


def _redact(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub("***", value)
    if isinstance(value, dict):
        return {_redact(k, pattern): _redact(v, pattern) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, pattern) for v in value]
    return value


def redact_error(exc: HelpSpaceError, secrets: tuple[str, ...]) -> HelpSpaceError:
    """The same error with server-provided text redacted (message, body, field errors)."""
    if not isinstance(exc, (APIError, BadResponse)):
        return exc  # our own words: nothing a server sent
    exc.args = tuple(redact(a, secrets) for a in exc.args)
    if isinstance(exc, APIError):
        exc.message = redact(exc.message, secrets)
        exc.body = redact(exc.body, secrets)
    if isinstance(exc, ValidationError):
        exc.field_errors = redact(exc.field_errors, secrets)
    return exc

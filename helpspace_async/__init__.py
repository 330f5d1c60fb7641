"""Asyncio client for the HelpSpace helpdesk API."""

from .client import ClientStats, HelpSpaceClient
from .errors import (
    AmbiguousCreate,
    APIError,
    AuthError,
    BadResponse,
    ConfigurationError,
    ConnectFailed,
    HelpSpaceError,
    ListingRunaway,
    NotFound,
    RateLimited,
    RedirectRefused,
    ResponseTooLarge,
    ServerError,
    ServerMisbehaved,
    TransportError,
    UnsafeURL,
    ValidationError,
)
from .paging import Page
from .protocol import PageMeta
from .ratelimit import RateLimiter
from .retry import RetryPolicy

__version__ = "0.1.0"

__all__ = [
    "AmbiguousCreate",
    "APIError",
    "AuthError",
    "BadResponse",
    "ClientStats",
    "ConfigurationError",
    "ConnectFailed",
    "HelpSpaceClient",
    "HelpSpaceError",
    "ListingRunaway",
    "NotFound",
    "Page",
    "PageMeta",
    "RateLimited",
    "RateLimiter",
    "RedirectRefused",
    "ResponseTooLarge",
    "RetryPolicy",
    "ServerError",
    "ServerMisbehaved",
    "TransportError",
    "UnsafeURL",
    "ValidationError",
    "__version__",
]

"""What every command shares: connection options, the client, running a pipeline, exit codes.

Exit codes: 0 done; 1 import finished but some records were rejected; 2 usage or
configuration error (nothing written); 3 the API refused (auth, permission), the
server misbehaved, or retries ran out (progress saved: rerun or --resume); 130
interrupted (progress saved). Errors map to codes by class, here and nowhere else;
anything not listed is a bug and ends with a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from helpspace_async import (
    APIError,
    AuthError,
    BadResponse,
    ConfigurationError,
    HelpSpaceClient,
    RateLimiter,
    RetryPolicy,
    ServerMisbehaved,
    TransportError,
)
from helpspace_async.errors import redact
from helpspace_async.protocol import DEFAULT_BASE_URL

from ..errors import RunStopped, UsageError

EXIT_OK, EXIT_REJECTS, EXIT_USAGE, EXIT_API, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
RERUN_EXPORT = "run the same command again with --resume"
RERUN_IMPORT = "run the same command again (the journal makes sure nothing is created twice)"
_secrets: set[str] = set()  # every credential this process knows: never printed


def keep_secret(*values: str | None) -> None:
    """Register credentials so that `say` never prints them, whatever a server echoed."""
    _secrets.update(v for v in values if v)


def say(message: str) -> None:
    """A line for the user, on stderr (stdout may carry an export); credentials become `***`."""
    print(redact(message, tuple(_secrets)), file=sys.stderr, flush=True)


def connection_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("connection (default: the HELPSPACE_* environment variables)")
    g.add_argument("--base-url", help=f"API base URL [HELPSPACE_BASE_URL, default {DEFAULT_BASE_URL}]")
    g.add_argument("--token", help="API token [HELPSPACE_TOKEN]; prefer the variable: arguments show in `ps`")
    g.add_argument("--client-id", help="client id [HELPSPACE_CLIENT_ID]")
    g.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    g.add_argument("--max-rate", type=int, help="use at most this many requests per rate-limit window")
    g.add_argument("--max-wait", type=float, default=900, help="longest rate-limit pause to accept, seconds (default 900)")
    g.add_argument("--timeout", type=float, default=30, help="seconds for one request before it counts as failed (default 30)")
    g.add_argument("--retries", type=int, default=8, help="attempts per request before giving up with exit 3 (default 8)")
    g.add_argument("--max-response-mb", type=float, default=64, metavar="MB",
                   help="largest API answer accepted, after decompression (default 64)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar (it is also off when stderr is not a terminal)")
    g.add_argument("-v", "--verbose", action="store_true", help="log each retry to stderr")



def client_from(args: argparse.Namespace) -> HelpSpaceClient:
    """The client the connection options describe."""
    limiter = RateLimiter(max_limit=args.max_rate, max_wait=args.max_wait)
    retry = RetryPolicy(max_attempts=max(1, args.retries))
    client = HelpSpaceClient(args.base_url, args.token, args.client_id, concurrency=args.concurrency,
                             rate_limiter=limiter, retry=retry, timeout=args.timeout,
                             max_response_bytes=int(args.max_response_mb * 2**20))
    keep_secret(args.token or os.environ.get("HELPSPACE_TOKEN"), client.client_id)
    return client


def run(coro_factory: Callable[[], Coroutine[Any, Any, int]], *, rerun: str = RERUN_EXPORT) -> int:
    """Run a pipeline and map its errors to exit codes; SIGTERM is treated like Ctrl-C.

    `rerun` tells the user how to finish after an interruption or a failure.
    """

    async def main() -> int:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if task is not None and hasattr(signal, "SIGTERM"):
            try:
                loop.add_signal_handler(signal.SIGTERM, task.cancel)
            except (NotImplementedError, RuntimeError):
                pass
        return await coro_factory()

    try:
        return asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        say(f"interrupted: progress is saved; {rerun} to finish")
        return EXIT_INTERRUPTED
    except (ConfigurationError, UsageError) as exc:
        say(f"error: {exc}")
        return EXIT_USAGE
    except AuthError as exc:
        say(f"error: the API refused: {exc}")
        return EXIT_API
    except ServerMisbehaved as exc:
        say(f"error: the server misbehaved: {exc}\nprogress is saved; when the server is fixed, {rerun}")
        return EXIT_API
    except RunStopped as exc:
        say(f"error: {exc}\nprogress is saved")
        return EXIT_API
    except (APIError, TransportError, BadResponse) as exc:
        say(f"error: {exc}\nretries ran out; progress is saved: {rerun}")
        return EXIT_API

"""What every command shares: connection options, the client, running a pipeline, exit codes.

Exit codes: 0 done; 1 import finished but some records were rejected; 2 usage or
configuration error (nothing written); 3 the API refused (auth, permission), the
server misbehaved, or retries ran out (progress saved: rerun or --resume); 130
interrupted (progress saved); 141 stdout was closed (`-o - | head`). Errors map to codes
by class in `boundary()`, here and nowhere else; anything not listed is a bug, said in one
redacted line (exit 3), with the traceback only under --debug.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Coroutine
from typing import Any

from helpspace_async import (
    APIError,
    AuthError,
    BadResponse,
    ConfigurationError,
    HelpSpaceClient,
    HelpSpaceError,
    RateLimiter,
    RetryPolicy,
    ServerMisbehaved,
    TransportError,
)
from helpspace_async.errors import redact
from helpspace_async.protocol import DEFAULT_BASE_URL

from ..errors import PipelineError, RunStopped, UsageError

EXIT_OK, EXIT_REJECTS, EXIT_USAGE, EXIT_API, EXIT_INTERRUPTED, EXIT_PIPE = 0, 1, 2, 3, 130, 141
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
    run_args(p)



def client_from(args: argparse.Namespace) -> HelpSpaceClient:
    """The client the connection options describe."""
    limiter = RateLimiter(max_limit=args.max_rate, max_wait=args.max_wait)
    retry = RetryPolicy(max_attempts=max(1, args.retries))
    client = HelpSpaceClient(args.base_url, args.token, args.client_id, concurrency=args.concurrency,
                             rate_limiter=limiter, retry=retry, timeout=args.timeout,
                             max_response_bytes=int(args.max_response_mb * 2**20))
    keep_secret(args.token or os.environ.get("HELPSPACE_TOKEN"), client.client_id)
    return client


def run_args(p: argparse.ArgumentParser) -> None:
    """What every command takes about the run itself (the connection options include these)."""
    g = p.add_argument_group("run")
    g.add_argument("--wait-lock", type=float, default=0.0, metavar="SECONDS",
                   help="when another run holds the same target, wait up to this long for it (default: refuse at once)")
    g.add_argument("--debug", action="store_true", help="on an unexpected error, print the traceback (credentials redacted)")


def run(coro_factory: Callable[[], Coroutine[Any, Any, int]], *, rerun: str | None = RERUN_EXPORT) -> int:
    """Run a pipeline; Ctrl-C and SIGTERM cancel it (progress is saved), a second one ends the
    process at once, and a run that hasn't stopped GRACE seconds after the first is ended too.

    `rerun` tells the user how to finish after an interruption or a failure (None: nothing to finish).
    """
    _interrupted.clear()

    async def main() -> int:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if task is not None:
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, _interrupt, task)
                except (NotImplementedError, RuntimeError, ValueError):
                    pass
        return await coro_factory()

    try:
        return asyncio.run(main())
    except BaseException as exc:  # noqa: B036 -- the one boundary: every error becomes a line and an exit code
        return boundary(exc, rerun)


GRACE = 2.0  # seconds an interrupted run has to save its progress and stop
_interrupted: list[float] = []


def _interrupt(task: asyncio.Task[Any]) -> None:
    """First signal: cancel the run (it saves progress) and arm a deadline; second: stop now."""
    if _interrupted:
        _hard_exit("interrupted again: stopping now; what was saved stands")
    _interrupted.append(time.monotonic())
    task.cancel()
    timer = threading.Timer(GRACE, _hard_exit, ("interrupted: stopped after waiting "
                                                f"{GRACE:.0f} s for the run to wind down; what was saved stands",))
    timer.daemon = True
    timer.start()


def _hard_exit(message: str) -> None:
    say(message)
    os._exit(EXIT_INTERRUPTED)


def boundary(exc: BaseException, rerun: str | None = RERUN_EXPORT) -> int:
    """Every error that ends a command becomes one line (credentials redacted) and an exit code:
    no traceback reaches the user unless `--debug` asked for it."""
    if isinstance(exc, SystemExit):
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError)):
        say(f"interrupted: progress is saved; {rerun} to finish" if rerun else "stopped")
        return EXIT_INTERRUPTED
    rerun = rerun or "run it again"
    if isinstance(exc, BrokenPipeError):  # `... -o - | head`: the reader has gone; nothing to say
        _silence_stdout()
        return EXIT_PIPE
    cause = root_error(exc)
    if isinstance(cause, (ConfigurationError, UsageError)):
        say(f"error: {cause}")
        return EXIT_USAGE
    if isinstance(cause, AuthError):
        say(f"error: the API refused: {cause}")
        return EXIT_API
    if isinstance(cause, ServerMisbehaved):
        say(f"error: the server misbehaved: {cause}\nprogress is saved; when the server is fixed, {rerun}")
        return EXIT_API
    if isinstance(cause, RunStopped):
        say(f"error: {cause}\nprogress is saved")
        return EXIT_API
    if isinstance(cause, (APIError, TransportError, BadResponse)):
        say(f"error: {cause}\nretries ran out; progress is saved: {rerun}")
        return EXIT_API
    if isinstance(cause, OSError):
        where = f": {cause.filename}" if cause.filename else ""
        say(f"error: {cause.strerror or type(cause).__name__}{where}\nthe run stopped; progress is saved "
            f"(nothing unwritten was recorded): fix that, then {rerun}")
        _debug(exc)
        return EXIT_API
    say(f"error: unexpected {type(cause).__name__}: {cause}\nthis is a bug in helpspace; progress is saved. "
        "Run again with --debug for the details (credentials are redacted) and report it.")
    _debug(exc)
    return EXIT_API


def root_error(exc: BaseException) -> BaseException:
    """The error that explains `exc`: ours, found through the chain of wrappers (dlt wraps what a
    source raises in its own step errors); `exc` itself when none of ours is there."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (HelpSpaceError, PipelineError)):
            return current
        todo.extend(e for e in (getattr(current, "exception", None), current.__cause__, current.__context__)
                    if isinstance(e, BaseException))
    return exc


DEBUG = {"on": bool(os.environ.get("HELPSPACE_DEBUG"))}


def _debug(exc: BaseException) -> None:
    if DEBUG["on"]:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        say(text.rstrip())


def _silence_stdout() -> None:
    """After a closed pipe, point stdout at /dev/null so the interpreter's last flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def report_problems(problems: list[str]) -> int:
    """What the server sent that could not be saved: said, and exit 3 (the manifest lists them all)."""
    if not problems:
        return EXIT_OK
    for problem in problems[:20]:
        say(f"problem: {problem}")
    more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
    say(f"error: the export is written but incomplete: {len(problems)} item(s) the server sent could not be saved "
        f"safely{more}; the manifest lists them")
    return EXIT_API

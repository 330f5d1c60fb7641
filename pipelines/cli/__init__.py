"""The `helpspace` command: parse, call a pipeline, print. Nothing else lives here.

common.py (connection options, running, exit codes) · export.py · import_.py ·
backup.py · load.py · serve.py · demo.py: each adds its subcommand and runs it.
"""

from __future__ import annotations

import argparse
import logging
import sys

from ..locks import lock_wait
from . import backup, demo, export, import_, load, serve
from .common import DEBUG, EXIT_API, EXIT_INTERRUPTED, EXIT_OK, EXIT_REJECTS, EXIT_USAGE, boundary

__all__ = ["EXIT_API", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_REJECTS", "EXIT_USAGE", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="helpspace",
        description="HelpSpace tickets in and out: complete exports, exactly-once imports, a local server to rehearse on.",
        epilog="Exit codes: 0 done, 1 some records rejected, 2 usage/configuration, 3 API refused or retries ran out, 130 interrupted.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (serve, export, import_, backup, load, demo):
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse, then run the command inside the one error boundary (common.boundary)."""
    args = build_parser().parse_args(argv)
    if getattr(args, "verbose", False):
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    DEBUG["on"] = DEBUG["on"] or bool(getattr(args, "debug", False))
    lock_wait.set(getattr(args, "wait_lock", 0.0) or 0.0)
    try:
        return int(args.handler(args))
    except BaseException as exc:  # noqa: B036 -- errors raised before or after the async run
        return boundary(exc)

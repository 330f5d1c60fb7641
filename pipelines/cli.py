"""The `helpspace` command: parse, call a pipeline, print. Nothing else lives here.

Exit codes: 0 done; 1 import finished but some records were rejected; 2 usage or
configuration error (nothing written); 3 the API refused (auth, permission) or
retries ran out (progress saved: rerun or --resume); 130 interrupted (progress saved).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from helpspace_async import (
    APIError,
    AuthError,
    BadResponse,
    ConfigurationError,
    HelpSpaceClient,
    RateLimiter,
    RetryPolicy,
    TransportError,
)
from helpspace_async.protocol import DEFAULT_BASE_URL, TICKET_STATUSES

EXIT_OK, EXIT_REJECTS, EXIT_USAGE, EXIT_API, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- parser -------------------------------------------------------------------------------


def _connection_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("connection (default: the HELPSPACE_* environment variables)")
    g.add_argument("--base-url", help=f"API base URL [HELPSPACE_BASE_URL, default {DEFAULT_BASE_URL}]")
    g.add_argument("--token", help="API token [HELPSPACE_TOKEN]; prefer the variable: arguments show in `ps`")
    g.add_argument("--client-id", help="client id [HELPSPACE_CLIENT_ID]")
    g.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    g.add_argument("--max-rate", type=int, help="use at most this many requests per rate-limit window")
    g.add_argument("--max-wait", type=float, default=900, help="longest rate-limit pause to accept, seconds (default 900)")
    g.add_argument("--timeout", type=float, default=30, help="seconds for one request before it counts as failed (default 30)")
    g.add_argument("--retries", type=int, default=8, help="attempts per request before giving up with exit 3 (default 8)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar (it is also off when stderr is not a terminal)")
    g.add_argument("-v", "--verbose", action="store_true", help="log each retry to stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="helpspace",
        description="HelpSpace tickets in and out: complete exports, exactly-once imports, a local server to rehearse on.",
        epilog="Exit codes: 0 done, 1 some records rejected, 2 usage/configuration, 3 API refused or retries ran out, 130 interrupted.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the embedded HelpSpace-compatible server on 127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="port (0 = a free one, printed)")
    serve.add_argument("--tickets", type=int, default=1000, help="seeded tickets (default 1000)")
    serve.add_argument("--seed", type=int, default=1, help="seed for deterministic data")
    serve.add_argument("--db", help="keep everything in this SQLite file (default: memory)")
    serve.add_argument("--token", default="demo-token")
    serve.add_argument("--client-id", default="demo-client")
    serve.add_argument("--rate-limit", type=int, default=0, help="requests per window per token (0 = none)")
    serve.add_argument("--rate-window", type=float, default=60.0, help="rate-limit window, seconds")
    serve.add_argument("--latency", type=float, default=0.0, metavar="MS", help="added latency per request")
    serve.add_argument("--spike-rate", type=float, default=0.0, metavar="P", help="share of requests delayed by --spike-ms more")
    serve.add_argument("--spike-ms", type=float, default=0.0, metavar="MS", help="length of a latency spike")
    serve.add_argument("--fault-rate", type=float, default=0.0, metavar="P", help="share of requests failing (5xx or dropped)")
    serve.add_argument("--drop-after-create", type=float, default=0.0, metavar="P", help="share of creates committed, then dropped")
    serve.add_argument("--churn", type=int, default=0, metavar="N", help="tickets created and deleted per listing request")

    export = sub.add_parser("export", help="export data").add_subparsers(dest="what", required=True)
    et = export.add_parser("tickets", help="export tickets to JSONL or CSV (complete, resumable)")
    et.add_argument("--output", "-o", help="file (.jsonl, .csv, optionally .gz; .parquet) or - for JSONL on stdout")
    et.add_argument("--format", choices=["jsonl", "csv", "parquet"], help="default: from the file name")
    et.add_argument("--per-page", type=int, default=50, help="tickets per request, 1-50 (default 50)")
    et.add_argument("--status", action="append", default=[], choices=TICKET_STATUSES, help="only this status (repeatable)")
    et.add_argument("--tag", action="append", default=[], help="only tickets with this tag (repeatable)")
    et.add_argument("--subject", action="append", default=[], help="subject contains this text (repeatable)")
    et.add_argument("--created-between", metavar="YYYY-MM-DD/YYYY-MM-DD")
    et.add_argument("--with-messages", action="store_true", help="add each ticket's messages (all types)")
    et.add_argument("--attachments", metavar="embed|DIR", help="with --with-messages: base64 in the file, or files saved in DIR")
    et.add_argument("--resume", action="store_true", help="continue an interrupted export from its checkpoint")
    et.add_argument("--no-formula-guard", action="store_true", help="CSV: don't prefix cells starting with = + - @ with '")
    et.add_argument("--partition-by", choices=["created_date", "status"], help="Parquet: Hive-style folders under --output")
    et.add_argument("--print-schema", action="store_true", help="print the schema of every format (JSON) and exit")
    et.add_argument("--since-last-run", metavar="STATE", help="nightly: export what was created or contacted since the last run in STATE")
    et.add_argument("--full", action="store_true", help="with --since-last-run: export everything this time")
    et.add_argument("--keep", type=int, metavar="N", help="with --since-last-run: keep the newest N exports STATE recorded, delete older")
    _connection_args(et)

    imp = sub.add_parser("import", help="import data").add_subparsers(dest="what", required=True)
    it = imp.add_parser("tickets", help="import tickets from JSONL or CSV, exactly once")
    it.add_argument("input", help="JSONL (.gz too) or CSV file")
    it.add_argument("--format", choices=["jsonl", "csv"], help="default: from the file name")
    it.add_argument("--state", help="journal of what was created (default: INPUT.state.jsonl)")
    it.add_argument("--rejects", help="where rejected records go (default: INPUT.rejects.jsonl)")
    it.add_argument("--attachments-dir", help="folder that attachment paths are relative to (default: INPUT's folder)")
    it.add_argument("--dry-run", action="store_true", help="read, validate and encode everything; send nothing")
    it.add_argument("--limit", type=int, help="import at most N records")
    it.add_argument("--notify", action="store_true", help="let HelpSpace run rules, autoreplies and notifications")
    it.add_argument("--no-create-tags", action="store_true", help="don't create missing tags (they will be dropped)")
    src = it.add_argument_group("migrating from another helpdesk")
    src.add_argument("--from", dest="source", choices=["zendesk", "freshdesk", "helpscout", "helpspace", "generic"],
                     help="what made INPUT (default: detected from its first record, and said)")
    src.add_argument("--source-tz", default="UTC", help="time zone of dates without an offset (Zendesk CSV), e.g. Europe/Berlin")
    src.add_argument("--map", dest="map_path", metavar="MAPPING", help="--from generic: JSON/TOML file, target field <- source path")
    src.add_argument("--status-map", metavar="FILE", help='JSON {"source status": "HelpSpace status"} overriding the built-in table')
    src.add_argument("--include-notes", action="store_true", help="import private notes as internal messages (unverified API support)")
    links = src.add_mutually_exclusive_group()
    links.add_argument("--download-attachments", dest="keep_links", action="store_false", default=False,
                       help="download attachments and inline images from the source now (default: its links expire)")
    links.add_argument("--keep-links", dest="keep_links", action="store_true", help="keep them on the source, linked from the message")
    src.add_argument("--source-token", help="bearer token for the source's attachment URLs [HELPSPACE_SOURCE_TOKEN]")
    _connection_args(it)

    demo = sub.add_parser("demo", help="a round trip on the embedded server: export, import into an empty one, compare")
    demo.add_argument("--dir", default="helpspace-demo", help="where the files go (default ./helpspace-demo)")
    demo.add_argument("--tickets", type=int, default=200, help="tickets on the seeded server (default 200)")
    return parser


# --- running ------------------------------------------------------------------------------


def _client(args: argparse.Namespace) -> HelpSpaceClient:
    limiter = RateLimiter(max_limit=args.max_rate, max_wait=args.max_wait)
    retry = RetryPolicy(max_attempts=max(1, args.retries))
    return HelpSpaceClient(args.base_url, args.token, args.client_id, concurrency=args.concurrency,
                           rate_limiter=limiter, retry=retry, timeout=args.timeout)


def _run(coro_factory: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run a pipeline; SIGTERM is treated like Ctrl-C so state is saved either way."""

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
        _say("interrupted: progress is saved; run the same command again (export: add --resume) to finish")
        return EXIT_INTERRUPTED
    except ConfigurationError as exc:
        _say(f"error: {exc}")
        return EXIT_USAGE
    except AuthError as exc:
        _say(f"error: the API refused: {exc}")
        return EXIT_API
    except (APIError, TransportError, BadResponse) as exc:
        _say(f"error: {exc}\nretries ran out; progress is saved: run the same command again (export: add --resume)")
        return EXIT_API


def cmd_export(args: argparse.Namespace) -> int:
    from .export import ExportConfigError, Exporter, ExportOptions

    if args.print_schema:
        import json

        from .schema import all_schemas

        print(json.dumps(all_schemas(with_messages=args.with_messages), indent=2, ensure_ascii=False))
        return EXIT_OK
    if not args.output:
        _say("error: --output is required (a file, or - for stdout)")
        return EXIT_USAGE
    if (args.full or args.keep) and not args.since_last_run:
        _say("error: --full and --keep go with --since-last-run STATE")
        return EXIT_USAGE

    options = ExportOptions(
        output=args.output, format=args.format, per_page=args.per_page, status=args.status, tags=args.tag,
        subject=args.subject, created_between=args.created_between, with_messages=args.with_messages,
        attachments=args.attachments, resume=args.resume, formula_guard=not args.no_formula_guard,
        progress=not args.no_progress, partition_by=args.partition_by,
    )

    async def go() -> int:
        from .progress import summary

        async with _client(args) as client:
            if args.since_last_run:
                return await _nightly(client, options, args)
            try:
                exporter = Exporter(client, options)
            except (ExportConfigError, ValueError) as exc:
                raise ConfigurationError(str(exc)) from None
            try:
                result = await exporter.run()
            except ExportConfigError as exc:
                raise ConfigurationError(str(exc)) from None
            for warning in exporter.warnings:
                _say(f"warning: {warning}")
            where = "stdout" if args.output == "-" else str(result.path)
            _say(summary("exported", result.count, result.elapsed, client, f"{result.passes} listing pass{'es' if result.passes != 1 else ''} → {where}"))
            if result.manifest:
                _say(f"manifest: {result.manifest}")
        return EXIT_OK

    return _run(go)


async def _nightly(client: HelpSpaceClient, options: Any, args: argparse.Namespace) -> int:
    from .export import ExportConfigError
    from .nightly import NightlyOptions, run_nightly
    from .progress import summary

    nightly = NightlyOptions(state=Path(args.since_last_run), full=args.full, keep=args.keep)
    try:
        done = await run_nightly(client, options, nightly)
    except (ExportConfigError, ValueError) as exc:
        raise ConfigurationError(str(exc)) from None
    what = "full export" if done.mode == "full" else f"incremental export (created or contacted since {done.since})"
    _say(summary("exported", done.export.count, done.export.elapsed, client, f"{what} → {done.export.path}"))
    for path in done.removed:
        _say(f"removed old export: {path}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from helpspace_async.testing import HelpSpaceServer

    async def go() -> int:
        server = HelpSpaceServer(
            tickets=args.tickets, seed=args.seed, db=args.db, token=args.token, client_id=args.client_id, port=args.port,
            rate_limit=args.rate_limit, rate_window=args.rate_window, latency_ms=args.latency,
            spike_rate=args.spike_rate, spike_ms=args.spike_ms,
            fault_rate=args.fault_rate, drop_after_create=args.drop_after_create, churn=args.churn,
        )
        async with server:
            for key, value in server.env.items():
                print(f"export {key}={value}", flush=True)
            _say(f"# HelpSpace-compatible server with {len(server.store.live):,} tickets; Ctrl-C stops it")
            await asyncio.Event().wait()
        return EXIT_OK

    code = _run(go)
    return EXIT_OK if code == EXIT_INTERRUPTED else code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "verbose", False):
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    handlers = {"serve": cmd_serve, "export": cmd_export}
    if args.command == "import":
        from .import_cli import cmd_import

        handlers["import"] = cmd_import
    if args.command == "demo":
        from .demo import cmd_demo

        handlers["demo"] = cmd_demo
    code = handlers[args.command](args)
    return code


if __name__ == "__main__":
    sys.exit(main())



"""`helpspace serve`: the embedded HelpSpace-compatible server, for rehearsals and tests.

The only command module that imports the server (with demo.py): the pipelines never do.
"""

from __future__ import annotations

import argparse
import asyncio

from .common import EXIT_INTERRUPTED, EXIT_OK, run, say


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    serve.add_argument("--churn-past", action="store_true", help="churned tickets get random old created_at dates")
    serve.add_argument("--order", choices=["id_desc", "id_asc", "created_desc", "created_asc"], default="id_desc",
                       help="how ticket listings are ordered (default id_desc)")
    serve.add_argument("--rate-rounding", choices=["laravel", "up", "down"], default="laravel",
                       help="rate-limit windows and headers: laravel (whole seconds), up or down (rounded headers)")
    serve.add_argument("--bad-page-every", type=int, default=0, metavar="N", help="every Nth GET is a 200 HTML page")

    serve.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from helpspace_async.testing import HelpSpaceServer

    async def go() -> int:
        server = HelpSpaceServer(
            tickets=args.tickets, seed=args.seed, db=args.db, token=args.token, client_id=args.client_id, port=args.port,
            rate_limit=args.rate_limit, rate_window=args.rate_window, latency_ms=args.latency,
            spike_rate=args.spike_rate, spike_ms=args.spike_ms,
            fault_rate=args.fault_rate, drop_after_create=args.drop_after_create, churn=args.churn,
            churn_past=args.churn_past, order=args.order, rate_rounding=args.rate_rounding,
            bad_page_every=args.bad_page_every,
        )
        async with server:
            for key, value in server.env.items():
                print(f"export {key}={value}", flush=True)
            say(f"# HelpSpace-compatible server with {server.ticket_count():,} tickets; Ctrl-C stops it")
            await asyncio.Event().wait()
        return EXIT_OK

    code = run(go, rerun=None)
    return EXIT_OK if code == EXIT_INTERRUPTED else code

"""`helpspace load`: the dlt source into a warehouse (DuckDB by default), merged on ids."""

from __future__ import annotations

import argparse
import time
from typing import Any

from .. import locks
from .common import EXIT_OK, EXIT_USAGE, client_from, connection_args, run, say


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    load = sub.add_parser("load", help="load tickets (and messages, tags, agents) into a warehouse with dlt")
    load.add_argument("--destination", default="duckdb", help="a dlt destination (default duckdb: ./PIPELINE.duckdb); "
                      "its credentials come from dlt's own configuration")
    load.add_argument("--dataset", default="helpspace_dataset", help="dataset (schema) name (default helpspace_dataset)")
    load.add_argument("--pipeline-name", default="helpspace", help="dlt pipeline name, one per account (default helpspace)")
    load.add_argument("--with-messages", action="store_true", help="also load every ticket's messages (one request each)")
    load.add_argument("--last-contact-since", metavar="YYYY-MM-DD",
                      help="only tickets last contacted since that day (misses edits without a contact, and deletions)")
    connection_args(load)
    load.set_defaults(handler=cmd_load)


def cmd_load(args: argparse.Namespace) -> int:
    try:
        import dlt

        from ..dlt_source import helpspace_source
    except ImportError:
        say("error: helpspace load needs dlt: pip install 'helpspace-async[dlt]'")
        return EXIT_USAGE

    async def go() -> int:
        import asyncio

        progress: dict[str, Any] = {} if args.no_progress else {"progress": "log"}
        pipeline = dlt.pipeline(pipeline_name=args.pipeline_name, destination=args.destination,
                                dataset_name=args.dataset, **progress)
        target = f"{pipeline.pipelines_dir}/{args.pipeline_name}"
        with locks.hold(locks.named("load", target), f"the dlt pipeline {args.pipeline_name} ({target})"):
            async with client_from(args) as client:  # one cheap call first: credentials and URL fail here, plainly
                await client.tickets.count()
            source = helpspace_source(args.base_url, args.token, args.client_id, with_messages=args.with_messages,
                                      last_contact_since=args.last_contact_since, concurrency=args.concurrency,
                                      max_rate=args.max_rate, max_wait=args.max_wait, timeout=args.timeout,
                                      retries=args.retries)
            started = time.monotonic()
            await asyncio.to_thread(pipeline.run, source)  # dlt runs our async generators on a loop of its own
            counts = pipeline.last_trace.last_normalize_info.row_counts
        rows = ", ".join(f"{table} {count:,}" for table, count in sorted(counts.items()) if not table.startswith("_dlt"))
        say(f"loaded into {args.destination} dataset {args.dataset} (pipeline {args.pipeline_name}) in "
            f"{time.monotonic() - started:.1f} s: {rows or 'nothing new'} (merged on id: reruns update in place)")
        return EXIT_OK

    return run(go, rerun="run the same command again (rows merge on id: nothing doubles)")

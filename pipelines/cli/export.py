"""`helpspace export tickets`: parse options, run the exporter (or a nightly run), print."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from helpspace_async import HelpSpaceClient
from helpspace_async.protocol import TICKET_STATUSES

from ..progress import summary
from . import people
from .common import EXIT_OK, EXIT_USAGE, client_from, connection_args, report_problems, run, say

if TYPE_CHECKING:
    from ..export import ExportOptions


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    et.add_argument("--max-embed-mb", type=float, default=25, metavar="MB",
                    help="with --attachments embed: largest attachment held in the file (default 25)")
    et.add_argument("--reuse", metavar="PREVIOUS", help="with --with-messages: copy the messages of tickets unchanged "
                    "since PREVIOUS (an earlier --with-messages JSONL export); fetch only the rest")
    et.add_argument("--snapshot", action="store_true", help="with --since-last-run: a full snapshot each run, "
                    "reusing the last run's (needs --with-messages)")
    et.add_argument("--resume", action="store_true", help="continue an interrupted export from its checkpoint")
    et.add_argument("--restart", action="store_true", help="an interrupted export's checkpoint is there: start over instead")
    et.add_argument("--no-formula-guard", action="store_true", help="CSV: don't prefix cells starting with = + - @ with '")
    et.add_argument("--partition-by", choices=["created_date", "status"], help="Parquet: Hive-style folders under --output")
    et.add_argument("--print-schema", action="store_true", help="print the schema of every format (JSON) and exit")
    et.add_argument("--since-last-run", metavar="STATE", help="nightly: export what was created or contacted since the last run in STATE")
    et.add_argument("--full", action="store_true", help="with --since-last-run: export everything this time")
    et.add_argument("--keep", type=int, metavar="N", help="with --since-last-run: keep the newest N exports STATE recorded, delete older")
    connection_args(et)
    et.set_defaults(handler=cmd_export)
    people.add_export_parsers(export)



def cmd_export(args: argparse.Namespace) -> int:
    from ..export import Exporter, ExportOptions  # each command imports only the pipeline it runs

    if args.print_schema:
        import json

        from ..formats.schema import all_schemas

        print(json.dumps(all_schemas(with_messages=args.with_messages), indent=2, ensure_ascii=False))
        return EXIT_OK
    if not args.output:
        say("error: --output is required (a file, or - for stdout)")
        return EXIT_USAGE
    if (args.full or args.keep or args.snapshot) and not args.since_last_run:
        say("error: --full, --keep and --snapshot go with --since-last-run STATE")
        return EXIT_USAGE

    options = ExportOptions(
        output=args.output, format=args.format, per_page=args.per_page, status=args.status, tags=args.tag,
        subject=args.subject, created_between=args.created_between, with_messages=args.with_messages,
        attachments=args.attachments, resume=args.resume, restart=args.restart, formula_guard=not args.no_formula_guard,
        progress=not args.no_progress, partition_by=args.partition_by, embed_limit=int(args.max_embed_mb * 2**20),
        reuse=args.reuse,
    )

    async def go() -> int:
        async with client_from(args) as client:
            if args.since_last_run:
                return await _nightly(client, options, args)
            exporter = Exporter(client, options)
            result = await exporter.run()
            for warning in exporter.warnings:
                say(f"warning: {warning}")
            where = "stdout" if args.output == "-" else result.where
            passes = f"{result.passes} listing pass{'es' if result.passes != 1 else ''}"
            reused = f" · messages reused for {exporter.enricher.reused:,}, fetched for {exporter.enricher.fetched:,}" \
                if exporter.previous is not None and exporter.enricher is not None else ""
            say(summary("exported", result.count, result.elapsed, client, f"{passes} → {where}") + reused)
            if result.manifest:
                say(f"manifest: {result.url + '.manifest.json' if result.url else result.manifest}")
        return report_problems(result.problems)

    return run(go)


async def _nightly(client: HelpSpaceClient, options: ExportOptions, args: argparse.Namespace) -> int:
    from ..export.nightly import NightlyOptions, run_nightly

    nightly = NightlyOptions(state=Path(args.since_last_run), full=args.full, keep=args.keep, snapshot=args.snapshot)
    done = await run_nightly(client, options, nightly)
    what = {"full": "full export", "snapshot": f"snapshot reusing {done.since}"}.get(
        done.mode, f"incremental export (created or contacted since {done.since})")
    say(summary("exported", done.export.count, done.export.elapsed, client, f"{what} → {done.export.where}"))
    for path in done.removed:
        say(f"removed old export: {path}")
    return report_problems(done.export.problems)

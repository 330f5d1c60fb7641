"""`helpspace export|import customers|organizations`."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..people.kinds import KINDS
from ..progress import summary
from .common import (
    EXIT_OK,
    EXIT_REJECTS,
    RERUN_IMPORT,
    client_from,
    connection_args,
    report_problems,
    run,
    say,
)

SOURCE_NAMES = {"customers": "users/contacts/customers", "organizations": "organizations/companies"}


def add_export_parsers(export: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name in KINDS:
        p = export.add_parser(name, help=f"export {name} to JSONL, CSV or Parquet (complete and resumable, like tickets)")
        p.add_argument("--output", "-o", required=True, help="a .jsonl, .jsonl.gz, .csv or .parquet file")
        p.add_argument("--format", choices=["jsonl", "csv", "parquet"], help="default: from the file name")
        p.add_argument("--resume", action="store_true", help="continue an interrupted export (JSONL and CSV)")
        p.add_argument("--restart", action="store_true", help="an interrupted export's checkpoint is there: start over instead")
        if name == "customers":
            p.add_argument("--avatars", action="store_true", help="embed each customer's avatar (base64; one request each)")
            p.add_argument("--avatars-dir", metavar="DIR", help="save avatars as files in DIR instead (one request each)")
        connection_args(p)
        p.set_defaults(handler=cmd_export_people, kind=name)


def add_import_parsers(imp: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name in KINDS:
        key = KINDS[name].key
        p = imp.add_parser(name, help=f"import {name} from JSONL, exactly once (matched by {key}, never duplicated)")
        p.add_argument("input", help=f"JSONL (.gz too), e.g. from `helpspace export {name}`; or another helpdesk's "
                       f"{SOURCE_NAMES[name]}: a file, an API document, Singer/Airbyte output")
        p.add_argument("--from", dest="source", choices=["zendesk", "freshdesk", "helpscout", "helpspace"],
                       help="what made INPUT (default: detected from its streams or first record, and said)")
        p.add_argument("--update-existing", action="store_true", help=f"patch {name} that already exist (same {key})")
        p.add_argument("--state", help="journal of what was created (default: INPUT.state.jsonl)")
        p.add_argument("--dry-run", action="store_true", help="read and match, create nothing")
        p.add_argument("--attachments-dir", metavar="DIR",
                       help="folder that avatar paths are relative to (default: INPUT's folder)")
        connection_args(p)
        p.set_defaults(handler=cmd_import_people, kind=name)


def cmd_export_people(args: argparse.Namespace) -> int:
    from ..people.export import export_people

    async def go() -> int:
        async with client_from(args) as client:
            done = await export_people(client, KINDS[args.kind], args.output, avatars=getattr(args, "avatars", False),
                                       progress=not args.no_progress, fmt=args.format, resume=args.resume, restart=args.restart,
                                       avatars_dir=Path(args.avatars_dir) if getattr(args, "avatars_dir", None) else None)
            if done.resumed_from:
                say(f"resumed: {done.resumed_from:,} {args.kind} were already written")
            say(summary("exported", done.count, done.elapsed, client, f"{done.completeness['status']} → {done.url or done.path}",
                        noun=args.kind))
        return report_problems(done.problems)

    return run(go)


def cmd_import_people(args: argparse.Namespace) -> int:
    from ..people.import_ import import_people

    async def go() -> int:
        async with client_from(args) as client:
            done = await import_people(client, KINDS[args.kind], args.input, update_existing=args.update_existing,
                                       dry_run=args.dry_run, state=args.state, source_system=args.source,
                                       attachments_dir=Path(args.attachments_dir) if args.attachments_dir else None)
            if done.source != "helpspace":
                say(f"source: {done.source}" + ("" if args.source else " (detected; --from to choose)"))
            if args.dry_run:
                say(f"dry run: {done.records:,} records read, {done.created:,} {args.kind} would be created · {done.line()}")
            else:
                say(summary("imported", done.created, 0.0, client, done.line(), noun=args.kind))
        if done.rejected:
            say(f"{done.rejected:,} records rejected: see {done.rejects_path} (line numbers, reasons)")
            return EXIT_REJECTS
        return EXIT_OK

    return run(go, rerun=RERUN_IMPORT)

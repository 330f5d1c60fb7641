"""`helpspace backup DIR` and `helpspace restore DIR`: a whole account."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .common import (
    EXIT_API,
    EXIT_OK,
    EXIT_REJECTS,
    RERUN_IMPORT,
    client_from,
    connection_args,
    run,
    say,
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    b = sub.add_parser("backup", help="the whole account into DIR: tags, organizations, customers, tickets")
    b.add_argument("dir", help="the backup folder (a rerun refreshes it, reusing unchanged tickets' messages)")
    b.add_argument("--full", action="store_true", help="fetch every ticket's messages again (no reuse)")
    b.add_argument("--keep", type=int, metavar="N", help="after the new generation is current, keep the newest N "
                   "generations and remove older ones (default: keep all)")
    connection_args(b)
    b.set_defaults(handler=cmd_backup)
    r = sub.add_parser("restore", help="recreate a backup in another account, exactly once (rerun to finish)")
    r.add_argument("dir", help="a folder written by `helpspace backup`")
    r.add_argument("--dry-run", action="store_true", help="read and match everything; create nothing")
    r.add_argument("--into-nonempty", action="store_true", help="the target already has tickets: match them (creation "
                   "time, subject, requester) and create only the missing ones (default: refuse)")
    connection_args(r)
    r.set_defaults(handler=cmd_restore)


def cmd_backup(args: argparse.Namespace) -> int:
    from ..backup import backup

    async def go() -> int:
        started = time.monotonic()
        async with client_from(args) as client:
            report = await backup(client, Path(args.dir), reuse=not args.full, progress=not args.no_progress, say=say,
                                  keep=args.keep)
        say(f"backup complete in {time.monotonic() - started:.1f} s → {report.generation} (now current; "
            "manifest.json: counts, sizes and checksums)")
        for old in report.pruned:
            say(f"removed old generation: {old}")
        for problem in report.left_out[:20]:
            say(f"problem: {problem}")
        if report.left_out:
            say(f"error: the backup is complete but {len(report.left_out)} item(s) the server sent could not be kept "
                "safely; its manifest.json lists them (left_out)")
            return EXIT_API
        return EXIT_OK

    return run(go, rerun="run the same command again (the current generation stays as it was)")


def cmd_restore(args: argparse.Namespace) -> int:
    from ..backup import restore

    async def go() -> int:
        started = time.monotonic()
        async with client_from(args) as client:
            report = await restore(client, Path(args.dir), dry_run=args.dry_run, progress=not args.no_progress, say=say,
                                   into_nonempty=args.into_nonempty)
        say(f"restore {'dry run ' if args.dry_run else ''}done in {time.monotonic() - started:.1f} s"
            + (f"; {report.rejected:,} records rejected (see the rejects files under {args.dir}/restore/)"
               if report.rejected else ""))
        return EXIT_REJECTS if report.rejected else EXIT_OK

    return run(go, rerun=RERUN_IMPORT)

"""`helpspace demo`: a whole migration rehearsal on two embedded servers, no credentials needed.

Seed a source helpdesk, export it with messages and attachments, import the file into
an empty one, and compare the two field by field.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..export import Exporter, ExportOptions
from ..import_.importer import Importer, ImportOptions
from ..import_.records import exported_key
from ..progress import summary
from ..verify import compare_round_trip
from .common import EXIT_OK, EXIT_REJECTS, run, say


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help="a round trip on the embedded server: export, import into an empty one, compare")
    demo.add_argument("--dir", default="helpspace-demo", help="where the files go (default ./helpspace-demo)")
    demo.add_argument("--tickets", type=int, default=200, help="tickets on the seeded server (default 200)")
    demo.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from helpspace_async.testing import HelpSpaceServer  # the command line alone imports the server

    folder = Path(args.dir)

    async def go() -> int:
        folder.mkdir(parents=True, exist_ok=True)
        backup = folder / "tickets.jsonl.gz"
        async with HelpSpaceServer(tickets=args.tickets, seed=1) as source, HelpSpaceServer(tickets=0) as target:
            say(f"source helpdesk: {source.base_url} with {args.tickets} seeded tickets; empty target: {target.base_url}")
            async with source.client() as src:
                result = await Exporter(src, ExportOptions(output=str(backup), with_messages=True, attachments="embed")).run()
                say("1. " + summary("exported", result.count, result.elapsed, src, f"→ {backup}"))
            async with target.client() as dst:
                state = folder / "import.state.jsonl"
                state.unlink(missing_ok=True)
                importer = Importer(dst, ImportOptions(input=str(backup), state=str(state)))
                done = await importer.run()
                say("2. " + summary("imported", done.created, done.elapsed, dst, done.line()))
                assert importer.journal is not None
                async with source.client() as src:
                    mapping = {t["id"]: importer.journal.done[exported_key(t["id"])] async for t in src.tickets.iter()}
                    problems = await compare_round_trip(src, dst, mapping)
        if problems:
            say("3. round trip differs:\n   " + "\n   ".join(problems[:20]))
            return EXIT_REJECTS
        say(f"3. compared {len(mapping)} tickets: subjects, senders, statuses, tags, created_at, bodies and "
             f"attachment bytes all equal.\nfiles: {backup}, {backup}.manifest.json, {state}")
        return EXIT_OK

    return run(go)

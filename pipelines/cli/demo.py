"""`helpspace demo`: a whole migration rehearsal on embedded servers, no credentials needed.

Seed a source helpdesk, export it with messages and attachments, import the file into
an empty one, and compare the two field by field; then back up the whole account
(organizations, customers, tickets) and restore it into another empty one.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from ..progress import summary
from .common import EXIT_OK, EXIT_REJECTS, run, say


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help="a round trip on the embedded server: export, import into an empty one, compare")
    demo.add_argument("--dir", default="helpspace-demo", help="where the files go (default ./helpspace-demo)")
    demo.add_argument("--tickets", type=int, default=200, help="tickets on the seeded server (default 200)")
    demo.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from helpspace_async.testing import HelpSpaceServer  # the command line alone imports the server

    from ..export import Exporter, ExportOptions
    from ..import_.importer import Importer, ImportOptions
    from ..import_.records import exported_key
    from ..verify import compare_round_trip

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
        return await whole_account(folder / "account", args.tickets)

    return run(go)


async def whole_account(folder: Path, tickets: int) -> int:
    """4. The whole account (organizations, customers, tags, tickets): backup, restore elsewhere, compare people."""
    from helpspace_async.testing import HelpSpaceServer

    from ..backup import backup, restore
    from ..people.kinds import CUSTOMERS, ORGANIZATIONS

    shutil.rmtree(folder, ignore_errors=True)
    async with HelpSpaceServer(tickets=tickets, seed=1) as source, HelpSpaceServer(tickets=0) as target:
        async with source.client() as src:
            await backup(src, folder, progress=False, say=lambda _: None)
        async with target.client() as dst:
            await restore(dst, folder, progress=False, say=lambda _: None)
        differ = [kind.name for kind, table in ((CUSTOMERS, "customers"), (ORGANIZATIONS, "organizations"))
                  if _people(source, kind, table) != _people(target, kind, table)]  # noqa: B023
    if differ:
        say(f"4. the whole account differs after backup and restore: {', '.join(differ)}")
        return EXIT_REJECTS
    say(f"4. helpspace backup → restore into another empty helpdesk: {len(source.people.organizations)} organizations, "
        f"{len(source.people.customers)} customers and {tickets} tickets; organizations and customers all equal.\n"
        f"backup: {folder}")
    return EXIT_OK


def _people(server: Any, kind: Any, table: str) -> dict[str, Any]:
    return {str(r[kind.key]).lower(): kind.body(r) for r in getattr(server.people, table).values()}

"""`helpspace demo`: a whole migration rehearsal on two embedded servers, no credentials needed.

Seed a source helpdesk, export it with messages and attachments, import the file into
an empty one, and compare the two field by field.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from helpspace_async import HelpSpaceClient
from helpspace_async.testing import HelpSpaceServer

from .cli import EXIT_OK, EXIT_REJECTS, _run, _say
from .export import Exporter, ExportOptions
from .importer import Importer, ImportOptions
from .progress import summary
from .records import record_key
from .verify import compare_round_trip


def cmd_demo(args: argparse.Namespace) -> int:
    folder = Path(args.dir)

    async def go() -> int:
        folder.mkdir(parents=True, exist_ok=True)
        backup = folder / "tickets.jsonl.gz"
        async with HelpSpaceServer(tickets=args.tickets, seed=1) as source, HelpSpaceServer(tickets=0) as target:
            _say(f"source helpdesk: {source.base_url} with {args.tickets} seeded tickets; empty target: {target.base_url}")
            async with HelpSpaceClient(**source.client_settings) as src:
                result = await Exporter(src, ExportOptions(output=str(backup), with_messages=True, attachments="embed")).run()
                _say("1. " + summary("exported", result.count, result.elapsed, src, f"→ {backup}"))
            async with HelpSpaceClient(**target.client_settings) as dst:
                state = folder / "import.state.jsonl"
                state.unlink(missing_ok=True)
                importer = Importer(dst, ImportOptions(input=str(backup), state=str(state)))
                done = await importer.run()
                _say("2. " + summary("imported", done.created, done.elapsed, dst, done.line()))
                assert importer.journal is not None
                mapping = {tid: importer.journal.done[record_key({"external_id": f"helpspace:{tid}"})]
                           for tid in source.store.live}
                async with HelpSpaceClient(**source.client_settings) as src:
                    problems = await compare_round_trip(src, dst, mapping)
        if problems:
            _say("3. round trip differs:\n   " + "\n   ".join(problems[:20]))
            return EXIT_REJECTS
        _say(f"3. compared {len(mapping)} tickets: subjects, senders, statuses, tags, created_at, bodies and "
             f"attachment bytes all equal.\nfiles: {backup}, {backup}.manifest.json, {state}")
        return EXIT_OK

    return _run(go)

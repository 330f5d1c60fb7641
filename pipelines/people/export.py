"""`helpspace export customers|organizations`: every record, once, in JSONL(.gz).

Completeness as for tickets (export/evidence.py): a pass that saw no evidence of change
(total constant, no record twice, none created or edited since it began) skipped
nothing. These listings have no documented filter to window them by, so a pass that saw
evidence is followed by another, until one sees none (best effort after MAX_PASSES, said
in the manifest). With `avatars`, each customer's avatar is embedded (one request each).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from helpspace_async import HelpSpaceClient

from ..errors import ExportConfigError
from ..export.evidence import Evidence
from ..files import write_json_atomic
from ..formats import open_writer
from ..progress import Progress
from .kinds import Kind

MAX_PASSES = 4


@dataclass
class PeopleExport:
    path: Path
    count: int
    passes: int
    completeness: dict[str, Any]
    elapsed: float


async def export_people(client: HelpSpaceClient, kind: Kind, output: str, *, avatars: bool = False,
                        progress: bool = True) -> PeopleExport:
    path = Path(output)
    if not path.name.endswith((".jsonl", ".jsonl.gz")):
        raise ExportConfigError(f"{kind.name} are exported as JSONL: name the output .jsonl or .jsonl.gz")
    started, seen = time.monotonic(), set[int]()
    out = open_writer("jsonl", path, with_messages=False)
    bar = Progress(kind.name, enabled=progress)
    bar.start(None, f"export {kind.name}")
    try:
        status, passes, evidence = "best_effort", 0, None
        while passes < MAX_PASSES:
            evidence = Evidence(since=client.server_now() - 1.0)
            passes += 1
            async for page in kind.resource(client).pages():
                evidence.page(page.items, page.meta.total if page.meta else None, seen)
                fresh = [r for r in page.items if r.get("id") not in seen]
                seen.update(r["id"] for r in fresh)
                if avatars and kind.name == "customers":
                    await asyncio.gather(*(_add_avatar(client, r) for r in fresh))
                out.write(fresh)
                bar.advance(len(fresh))
            if not evidence.found:
                status = "verified"
                break
        bar.close()
        digest = out.finish()
    except BaseException:
        bar.close()
        out.abandon()
        raise
    completeness = {"status": status, "method": f"re-read until a pass saw no change ({passes} passes)"
                    if status == "verified" else f"still changing after {passes} passes: {evidence.reason() if evidence else ''}"}
    write_json_atomic(path.with_name(path.name + ".manifest.json"), {
        "file": path.name, "kind": kind.name, "format": "jsonl", "gzip": path.name.endswith(".gz"), kind.name: len(seen),
        "sha256": digest, "avatars": avatars, "completeness": completeness,
        "finished_at": datetime.now(timezone.utc).isoformat(), "base_url": client.base_url})
    return PeopleExport(path, len(seen), passes, completeness, time.monotonic() - started)


async def _add_avatar(client: HelpSpaceClient, customer: dict[str, Any]) -> None:
    customer["avatar"] = await client.customers.avatar(customer["id"])

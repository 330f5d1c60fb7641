"""`helpspace backup DIR` and `helpspace restore DIR`: a whole account, in dependency order.

A backup is a folder: `tags.jsonl.gz`, `organizations.jsonl.gz`, `customers.jsonl.gz`
(avatars embedded), `tickets.jsonl.gz` (messages, attachments embedded), and
`manifest.json` (counts and sha256 of each file). With `reuse`, the previous backup's
tickets file is reused for tickets that didn't change (export/reuse.py). Each file is
written by the export of its kind, whole or not at all.

A restore recreates them in another account in the order the API needs: tags (tickets
and organizations name or reference them), organizations, customers, tickets. Every
kind is imported exactly once with a journal of its own under DIR/restore/<host>/, so a
rerun finishes what an interrupted restore started and creates nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from helpspace_async import HelpSpaceClient, ValidationError

from . import locks
from .errors import InputError, UsageError
from .export import Exporter, ExportOptions
from .files import read_json, sha256_of, write_json_atomic
from .formats import jsonl, open_writer
from .import_.importer import Importer, ImportOptions
from .people.export import export_people
from .people.import_ import import_people
from .people.kinds import CUSTOMERS, ORGANIZATIONS
from .storage import check_local_output, is_remote

FILES = {"tags": "tags.jsonl.gz", "organizations": "organizations.jsonl.gz", "customers": "customers.jsonl.gz",
         "tickets": "tickets.jsonl.gz"}


@dataclass
class Step:
    kind: str
    count: int
    detail: str


@dataclass
class Report:
    steps: list[Step] = field(default_factory=list)
    rejected: int = 0

    def add(self, kind: str, count: int, detail: str, say: Any) -> None:
        self.steps.append(Step(kind, count, detail))
        say(f"{kind}: {detail}")


def _local(folder: Path, command: str) -> None:
    """Backups are folders on this machine: a bucket URL is refused, not written as a folder named `s3:`."""
    if is_remote(str(folder)) or str(folder).split("/", 1)[0].endswith(":"):
        raise UsageError(f"{command} works on a local folder, not {folder}: back up to a folder, then copy it to the "
                         "bucket with your sync tool (e.g. `aws s3 sync DIR s3://bucket/DIR`)")


async def backup(client: HelpSpaceClient, folder: Path, *, reuse: bool = True, progress: bool = True,
                 say: Any = print) -> Report:
    _local(folder, "backup")
    check_local_output(folder, folder=True)
    folder.mkdir(parents=True, exist_ok=True)
    with locks.hold(locks.inside(folder), f"the backup folder {folder}"):
        return await _backup(client, folder, reuse=reuse, progress=progress, say=say)


async def _backup(client: HelpSpaceClient, folder: Path, *, reuse: bool, progress: bool, say: Any) -> Report:
    report = Report()
    tags = [t async for t in client.tags.iter()]
    out = open_writer("jsonl", folder / FILES["tags"], with_messages=False)
    out.write(tags)
    out.finish()
    report.add("tags", len(tags), f"{len(tags):,} saved", say)
    for kind in (ORGANIZATIONS, CUSTOMERS):
        done = await export_people(client, kind, str(folder / FILES[kind.name]), avatars=kind is CUSTOMERS,
                                   progress=progress, restart=True)
        report.add(kind.name, done.count, f"{done.count:,} saved ({done.completeness['status']})", say)
    tickets = folder / FILES["tickets"]
    # the previous backup's file is indexed whole before anything is written; the new one replaces it at the end
    previous = tickets if reuse and tickets.exists() and (folder / (FILES["tickets"] + ".manifest.json")).exists() else None
    options = ExportOptions(output=str(tickets), with_messages=True, attachments="embed", progress=progress, restart=True,
                            reuse=str(previous) if previous else None)
    exporter = Exporter(client, options)
    result = await exporter.run()
    reused = f", messages reused for {exporter.enricher.reused:,}" if previous and exporter.enricher else ""
    report.add("tickets", result.count, f"{result.count:,} saved with messages and attachments{reused}", say)
    write_json_atomic(folder / "manifest.json", {
        "kind": "helpspace backup", "base_url": client.base_url, "finished_at": datetime.now(timezone.utc).isoformat(),
        "files": {kind: {"file": name, "records": next(s.count for s in report.steps if s.kind == kind),
                         "sha256": sha256_of(folder / name)} for kind, name in FILES.items()},
    })
    return report


async def restore(client: HelpSpaceClient, folder: Path, *, dry_run: bool = False, progress: bool = True,
                  say: Any = print) -> Report:
    _local(folder, "restore")
    state = folder / "restore" / (urlsplit(client.base_url).netloc.replace(":", "_") or "target")
    check_local_output(state, folder=True)
    state.mkdir(parents=True, exist_ok=True)
    with locks.hold(locks.inside(state), f"the restore of {folder} into {client.base_url}"):
        return await _restore(client, folder, state, dry_run=dry_run, progress=progress, say=say)


async def _restore(client: HelpSpaceClient, folder: Path, state: Path, *, dry_run: bool, progress: bool,
                   say: Any) -> Report:
    manifest = read_json(folder / "manifest.json")
    if not isinstance(manifest, dict) or manifest.get("kind") != "helpspace backup":
        raise InputError(f"{folder} is not a backup made by `helpspace backup` (no manifest.json)")
    for entry in manifest["files"].values():
        if sha256_of(folder / entry["file"]) != entry["sha256"]:
            raise InputError(f"{folder / entry['file']} does not match the backup's manifest (changed or cut): "
                             f"not restoring from it")
    report = Report()
    created = await _restore_tags(client, folder / FILES["tags"], dry_run)
    report.add("tags", created, f"{created:,} created (the rest existed)", say)
    for kind in (ORGANIZATIONS, CUSTOMERS):
        done = await import_people(client, kind, str(folder / FILES[kind.name]), dry_run=dry_run,
                                   state=str(state / f"{kind.name}.state.jsonl"))
        report.rejected += done.rejected
        report.add(kind.name, done.created, done.line(), say)
    importer = Importer(client, ImportOptions(input=str(folder / FILES["tickets"]), state=str(state / "tickets.state.jsonl"),
                                              rejects=str(state / "tickets.rejects.jsonl"), dry_run=dry_run,
                                              progress=progress))
    result = await importer.run()
    report.rejected += result.rejected
    report.add("tickets", result.created, result.line(), say)
    return report


async def _restore_tags(client: HelpSpaceClient, path: Path, dry_run: bool) -> int:
    existing = {t["name"] async for t in client.tags.iter()}
    created = 0
    for _, line in jsonl.read_lines(path):
        tag = orjson.loads(line)
        if tag["name"] in existing or dry_run:
            continue
        try:
            await client.tags.create(tag["name"], type=tag.get("type") or "ticket")
            created += 1
        except ValidationError:
            pass  # created meanwhile: fine
        existing.add(tag["name"])
    return created


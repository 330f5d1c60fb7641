"""`helpspace backup DIR` and `helpspace restore DIR`: a whole account, in dependency order.

A backup is a generation in DIR (generations.py: written beside the previous one, made
current only when complete): `tags.jsonl.gz`, `organizations.jsonl.gz`, `customers.jsonl.gz`
(avatars embedded), `tickets.jsonl.gz` (messages, attachments embedded), and
`manifest.json` (counts, sizes and sha256 of each file). With `reuse`, the previous
generation's tickets file is read for tickets that didn't change (export/reuse.py).

A restore recreates them in another account in the order the API needs: tags (tickets
and organizations name or reference them), organizations, customers, tickets. Every
kind is imported exactly once with a journal of its own under DIR/restore/<host>/, so a
rerun finishes what an interrupted restore started and creates nothing twice.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from helpspace_async import HelpSpaceClient, ValidationError

from . import generations, locks
from .boundary import shown_id, tag_problem
from .errors import InputError, UsageError
from .export import Exporter, ExportOptions
from .files import write_json_atomic
from .formats import jsonl, open_writer
from .import_.dry_run import CountingSender
from .import_.importer import Importer, ImportOptions
from .import_.journal import Journal
from .import_.records import exported_key
from .people.export import export_people
from .people.import_ import import_people
from .people.kinds import CUSTOMERS, ORGANIZATIONS
from .resume import run_identity
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
    generation: Path | None = None  # backup: the generation now current
    pruned: list[Path] = field(default_factory=list)  # backup --keep: generations removed
    left_out: list[str] = field(default_factory=list)  # items the server sent that can't be kept (boundary.py)

    def add(self, kind: str, count: int, detail: str, say: Any) -> None:
        self.steps.append(Step(kind, count, detail))
        say(f"{kind}: {detail}")


def _local(folder: Path, command: str) -> None:
    """Backups are folders on this machine: a bucket URL is refused, not written as a folder named `s3:`."""
    if is_remote(str(folder)) or str(folder).split("/", 1)[0].endswith(":"):
        raise UsageError(f"{command} works on a local folder, not {folder}: back up to a folder, then copy it to the "
                         "bucket with your sync tool (e.g. `aws s3 sync DIR s3://bucket/DIR`)")


async def backup(client: HelpSpaceClient, folder: Path, *, reuse: bool = True, progress: bool = True,
                 say: Any = print, keep: int | None = None) -> Report:
    """A new generation of the whole account in `folder`, made current only when complete and verified."""
    _local(folder, "backup")
    if keep is not None and keep < 1:
        raise UsageError("--keep must be at least 1 (the generation just written)")
    check_local_output(folder, folder=True)
    folder.mkdir(parents=True, exist_ok=True)
    with locks.hold(locks.inside(folder), f"the backup folder {folder}"):
        previous = generations.current(folder)
        building = generations.start(folder)
        try:
            report = await _backup(client, building, previous if reuse else None, progress=progress, say=say)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)  # the previous generation stays current, untouched
            raise
        report.generation, report.pruned = generations.publish(folder, building, keep)
        return report


async def _backup(client: HelpSpaceClient, folder: Path, previous: Path | None, *, progress: bool,
                  say: Any) -> Report:
    report = Report()
    listed = [t async for t in client.tags.iter()]
    tags = [t for t in listed if tag_problem(t) is None]
    for bad in (t for t in listed if tag_problem(t) is not None):  # the boundary: a nameless tag can't be restored
        report.left_out.append(f"tag {shown_id(bad)}: {tag_problem(bad)}")
    out = open_writer("jsonl", folder / FILES["tags"], with_messages=False)
    out.write(tags)
    out.finish()
    report.add("tags", len(tags), f"{len(tags):,} saved" + (f", {len(listed) - len(tags)} left out" if
                                                             len(listed) > len(tags) else ""), say)
    for kind in (ORGANIZATIONS, CUSTOMERS):
        done = await export_people(client, kind, str(folder / FILES[kind.name]), avatars=kind is CUSTOMERS,
                                   progress=progress, restart=True)
        report.add(kind.name, done.count, f"{done.count:,} saved ({done.completeness['status']})", say)
    tickets = folder / FILES["tickets"]
    # the previous generation's tickets file is read, never written: its unchanged tickets' messages are reused
    before = previous / FILES["tickets"] if previous is not None else None
    reused_file = before if before is not None and before.exists() and \
        before.with_name(before.name + ".manifest.json").exists() else None
    options = ExportOptions(output=str(tickets), with_messages=True, attachments="embed", progress=progress, restart=True,
                            reuse=str(reused_file) if reused_file else None)
    exporter = Exporter(client, options)
    result = await exporter.run()
    report.left_out += result.problems
    reused = f", messages reused for {exporter.enricher.reused:,}" if reused_file and exporter.enricher else ""
    report.add("tickets", result.count, f"{result.count:,} saved with messages and attachments{reused}", say)
    write_json_atomic(folder / "manifest.json", {
        "kind": "helpspace backup", "base_url": client.base_url, "finished_at": datetime.now(timezone.utc).isoformat(),
        "left_out": report.left_out,
        "files": {kind: generations.file_entry(folder / name, next(s.count for s in report.steps if s.kind == kind))
                  for kind, name in FILES.items()},
    })
    return report


async def restore(client: HelpSpaceClient, folder: Path, *, dry_run: bool = False, progress: bool = True,
                  say: Any = print, into_nonempty: bool = False) -> Report:
    """The newest complete generation of `folder` into the client's account, exactly once."""
    _local(folder, "restore")
    state = _state_folder(folder, client)
    check_local_output(state, folder=True)
    state.mkdir(parents=True, exist_ok=True)
    account = run_identity(client.base_url, client.client_id, "restore")
    with locks.hold(locks.inside(folder), f"the backup folder {folder} (a backup or another restore of it)"), \
            locks.hold(locks.named("account", f"{account['origin']} {account['client']}"),
                       f"the account {client.base_url} (another restore into it)"), \
            locks.hold(locks.inside(state), f"the restore of {folder} into {client.base_url}"):
        generation = generations.current(folder)
        if generation is None:
            raise InputError(f"{folder} holds no complete backup made by `helpspace backup` (no manifest.json)")
        generations.verify(generation, needed=FILES)  # every file, before anything is created
        journal = state / "tickets.state.jsonl"
        matched: dict[str, int] = {}
        if not journal.exists():  # a first restore into this account (a rerun continues its own journal)
            matched = await _preflight_target(client, generation, journal, into_nonempty=into_nonempty,
                                              dry_run=dry_run, say=say)
        return await _restore(client, generation, state, dry_run=dry_run, progress=progress, say=say,
                              matched=matched)


async def _restore(client: HelpSpaceClient, folder: Path, state: Path, *, dry_run: bool, progress: bool,
                   say: Any, matched: dict[str, int]) -> Report:
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
    if dry_run and isinstance(importer.sender, CountingSender):  # what the real run's journal would say
        importer.sender.done.update(matched)
        importer.sender.parts.update(dict.fromkeys(matched, 0))
    result = await importer.run()
    report.rejected += result.rejected
    report.add("tickets", result.created, result.line(), say)
    return report


def _state_folder(folder: Path, client: HelpSpaceClient) -> Path:
    """Where a restore into this account keeps its journals: one folder per account (host and a hash of
    the client id: every account of the hosted API shares its host). A folder made before accounts were
    told apart (host only) is still used for that host, so an interrupted old restore still finishes."""
    host = urlsplit(client.base_url).netloc.replace(":", "_") or "target"
    legacy = folder / "restore" / host
    if legacy.is_dir() and any(legacy.glob("*.state.jsonl")):
        return legacy
    return folder / "restore" / f"{host}-{run_identity(client.base_url, client.client_id, 'restore')['client']}"


def stable_key(ticket: dict[str, Any]) -> tuple[str, str, str] | None:
    """What identifies a ticket across accounts: its creation time, subject and requester (ids differ)."""
    contact = ticket.get("from_contact")
    value = contact.get("value") or contact.get("email") if isinstance(contact, dict) else None
    if not all(isinstance(v, str) for v in (ticket.get("created_at"), ticket.get("subject"), value)):
        return None
    return ticket["created_at"], ticket["subject"], str(value).lower()


async def _preflight_target(client: HelpSpaceClient, generation: Path, journal: Path, *, into_nonempty: bool,
                            dry_run: bool, say: Any) -> dict[str, int]:
    """A target that already holds tickets is a decision, not a default: refused, or (--into-nonempty)
    every backed-up ticket that matches an existing one by stable_key is recorded as done, so the
    restore (and its dry run) creates only what is missing."""
    total = await client.tickets.count()
    if total == 0:
        return {}
    if not into_nonempty:
        raise UsageError(
            f"the target account ({client.base_url}) already holds {total:,} tickets, and this backup was never "
            "restored into it: restoring would create every ticket again beside them. Restore into an empty "
            "account, or pass --into-nonempty to match existing tickets (by creation time, subject and "
            "requester) and create only the missing ones (try it with --dry-run first).")
    existing: dict[tuple[str, str, str], int] = {}
    async for page in client.tickets.pages():
        for ticket in page.items:
            found = stable_key(ticket)
            if found is not None and isinstance(ticket.get("id"), int):
                existing.setdefault(found, ticket["id"])
    matched: dict[str, int] = {}
    for _, line in jsonl.read_lines(generation / FILES["tickets"]):
        record = orjson.loads(line)
        stable = stable_key(record)
        if stable is not None and stable in existing and isinstance(record.get("id"), int):
            matched[exported_key(record["id"])] = existing[stable]
    say(f"tickets: {len(matched):,} of the backup's match tickets already in the target (left as they are)")
    if not dry_run:
        target = Journal(journal)
        try:
            for key, ticket_id in matched.items():
                await target.created(key, ticket_id, parts=0)
        finally:
            target.close()
    return matched


async def _restore_tags(client: HelpSpaceClient, path: Path, dry_run: bool) -> int:
    existing = {t["name"] async for t in client.tags.iter()}
    created = 0
    for _, line in jsonl.read_lines(path):
        tag = orjson.loads(line)
        if tag_problem(tag) is not None or tag["name"] in existing or dry_run:
            continue
        color = tag.get("color") if isinstance(tag.get("color"), str) else None
        try:
            await client.tags.create(tag["name"], type=tag.get("type") or "ticket", color=color)
            created += 1
        except ValidationError:
            pass  # created meanwhile: fine
        existing.add(tag["name"])
    return created


"""`helpspace import customers|organizations`: each record exactly once, matched, never duplicated.

A customer is the same customer in any helpdesk when the email matches (an organization:
the name), and HelpSpace keeps both unique. So the import first reads what the target
already has: a match is reported (and patched with `update_existing`), never created
again. Creates are journaled (intent, then id) like tickets; a create whose answer was
lost is resolved by reading the target again (the email or name now exists or it
doesn't), never by sending blindly. Avatars (base64 in JSONL) follow their customer.
Organization tags are written as ids: names (or the tag objects an export holds) are
matched to the target's organization tags, and missing ones created first.
Input from another helpdesk (Zendesk users/organizations, Freshdesk contacts/companies,
Help Scout customers) is mapped by `people/reader.py`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from helpspace_async import AmbiguousCreate, HelpSpaceClient, ValidationError

from .. import locks
from ..attachments import b64, read_attachment
from ..errors import InputError, Rejected, Skipped, UnsafePath
from ..import_.journal import Journal
from ..resume import run_identity
from ..sources.people import ADAPTERS, STREAMS
from ..storage import check_local_output
from .kinds import CUSTOMERS, ORGANIZATIONS, Kind
from .reader import PeopleReader


@dataclass
class PeopleImport:
    records: int = 0
    created: int = 0
    matched: int = 0  # already in the target (by email / name)
    updated: int = 0
    already_done: int = 0
    rejected: int = 0
    avatars: int = 0
    source: str = "helpspace"
    rejects_path: Path | None = None
    skipped: Counter[str] = field(default_factory=Counter)  # by reason, e.g. "an agent in the source"
    tags_created: list[str] = field(default_factory=list)
    tags_left_off: set[str] = field(default_factory=set)  # names taken by a ticket-only tag

    def line(self) -> str:
        parts = [f"created {self.created:,}", f"matched existing {self.matched:,} (updated {self.updated:,})",
                 f"already done {self.already_done:,}", f"rejected {self.rejected:,}", f"avatars {self.avatars:,}"]
        parts += [f"skipped ({reason}) {count:,}" for reason, count in self.skipped.most_common()]
        if self.tags_created:
            parts.append(f"organization tags created: {', '.join(self.tags_created)}")
        if self.tags_left_off:
            parts.append("tags left off (the name is a ticket tag's): " + ", ".join(sorted(self.tags_left_off)))
        return " · ".join(parts)


class OrganizationTags:
    """Organization tag names -> ids (the API takes ids): read once, missing ones created."""

    def __init__(self, client: HelpSpaceClient, result: PeopleImport, dry_run: bool) -> None:
        self.client, self.result, self.dry_run = client, result, dry_run
        self._ids: dict[str, int] | None = None
        self._other: set[str] = set()  # names used by tags of another type

    async def ids(self, tags: Any) -> list[int]:
        names = [t.get("name") if isinstance(t, dict) else t for t in tags or []]
        if self._ids is None:
            self._ids = {}
            async for tag in self.client.tags.iter():
                if tag.get("type") in ("organization", "all"):
                    self._ids[str(tag["name"]).lower()] = tag["id"]
                else:
                    self._other.add(str(tag["name"]).lower())
        found = []
        for name in (str(n).strip() for n in names if isinstance(n, str) and n.strip()):
            key = name.lower()
            if key not in self._ids:
                if key in self._other:
                    self.result.tags_left_off.add(name)
                    continue
                self.result.tags_created.append(name)
                self._ids[key] = -1 if self.dry_run else (await self.client.tags.create(name, type="organization"))["id"]
            found.append(self._ids[key])
        return found


async def import_people(client: HelpSpaceClient, kind: Kind, source: str, *, update_existing: bool = False,
                        dry_run: bool = False, state: str | None = None, source_system: str | None = None,
                        reader: PeopleReader | None = None, attachments_dir: Path | None = None) -> PeopleImport:
    """Every record of `kind` in `source` (our export, or another helpdesk's people) exactly once."""
    path = Path(source)
    reader = reader or PeopleReader(path, kind, source_system)
    stem = f"{path.name}.{kind.name}" if reader.is_stream else path.name  # one input may hold both kinds
    result = PeopleImport(source=reader.source, rejects_path=path.with_name(stem + ".rejects.jsonl"))
    state_path = Path(state) if state else path.with_name(stem + ".state.jsonl")
    check_local_output(state_path)
    with locks.hold(locks.sidecar(state_path), f"the import journal {state_path}"):
        return await _import(client, kind, reader, result, state_path, path, update_existing=update_existing,
                             dry_run=dry_run, attachments_dir=attachments_dir)


async def _import(client: HelpSpaceClient, kind: Kind, reader: PeopleReader, result: PeopleImport, state_path: Path,
                  path: Path, *, update_existing: bool, dry_run: bool, attachments_dir: Path | None) -> PeopleImport:
    existing = await _existing(client, kind)
    tags = OrganizationTags(client, result, dry_run) if kind.name == "organizations" else None
    journal = None if dry_run else Journal(state_path, account=run_identity(client.base_url, client.client_id, "import"))
    rejects: list[bytes] = []
    try:
        for row in reader:
            result.records += 1
            if isinstance(row.problem, Skipped):
                result.skipped[row.problem.reason] += 1
                continue
            if row.problem is not None or row.record is None:
                reason = row.problem.reason if isinstance(row.problem, Rejected) else "unreadable"
                rejects.append(_reject(row.line, reason, row.original))
                continue
            record = row.record
            key = kind.identity(record)
            if key is None:
                rejects.append(_reject(row.line, f"{kind.key} is missing", row.original))
                continue
            body = kind.body(record)
            if tags is not None and record.get("tags"):
                body["tags"] = await tags.ids(record["tags"])
            try:
                await _one(client, kind, record, body, key, existing, journal, result, update_existing, dry_run,
                           attachments_dir or path.parent)
            except ValidationError as exc:
                rejects.append(_reject(row.line, f"the server refused it: {exc.message}", row.original, exc.field_errors))
            except (OSError, UnsafePath) as exc:  # an avatar file that isn't there (or is outside its folder)
                rejects.append(_reject(row.line, f"its avatar can't be read: {exc}", row.original))
    finally:
        reader.close()
        if journal is not None:
            journal.close()
    result.rejected = len(rejects)
    if rejects:
        assert result.rejects_path is not None
        result.rejects_path.write_bytes(b"".join(rejects))
    return result


async def _one(client: HelpSpaceClient, kind: Kind, record: dict[str, Any], body: dict[str, Any], key: str,
               existing: dict[str, int], journal: Journal | None, result: PeopleImport, update_existing: bool,
               dry_run: bool, avatars_from: Path) -> None:
    resource = kind.resource(client)
    if journal is not None and key in journal.done:
        result.already_done += 1
        return
    target = existing.get(key)
    if target is not None:
        result.matched += 1
        if update_existing and not dry_run:
            await resource.update(target, {k: v for k, v in body.items() if k != "created_at"})
            result.updated += 1
    elif not dry_run:
        assert journal is not None
        if key in journal.intents:  # a previous run sent it and never heard back
            existing.update(await _existing(client, kind))
            target = existing.get(key)
        if target is None:
            await journal.intend(key)
            try:
                target = int((await resource.create(body))["id"])
                result.created += 1
            except AmbiguousCreate:
                existing.update(await _existing(client, kind))  # made, or not: the target says
                target = existing.get(key)
                if target is None:
                    target = int((await resource.create(body))["id"])
                    result.created += 1
        existing[key] = target
    else:
        result.created += 1  # a dry run: would be created
    if journal is not None and target is not None:
        await journal.created(key, target)
    avatar = record.get("avatar")
    if kind.name == "customers" and isinstance(avatar, dict) and target is not None and not dry_run:
        data = avatar.get("data")
        if not data and avatar.get("path"):  # saved as a file by `export customers --avatars-dir`
            raw, _ = await asyncio.to_thread(read_attachment, avatars_from, str(avatar["path"]))
            data = b64(raw)
        if data:
            await client.customers.set_avatar(target, avatar["mime_type"], data)
            result.avatars += 1


async def _existing(client: HelpSpaceClient, kind: Kind) -> dict[str, int]:
    """What the target already has, by identity."""
    found: dict[str, int] = {}
    async for record in kind.resource(client).iter():
        key = kind.identity(record)
        if key is not None:
            found[key] = record["id"]
    return found


def _reject(line: int, reason: str, original: Any, field_errors: dict[str, list[str]] | None = None) -> bytes:
    return orjson.dumps({"line": line, "reason": reason, "field_errors": field_errors or {}, "record": original},
                        default=str) + b"\n"


async def people_first(client: HelpSpaceClient | None, tickets_input: Path, source: str, say: Callable[[str], None],
                       *, users: Path | None = None) -> int:
    """A migration's organizations, then customers, before its tickets (`import tickets
    --with-people`): from the ticket input when it holds their streams (a connector's
    output, an API document with side-loaded arrays) and from the --users file. `client`
    None: a dry run, which counts what the input holds. Returns how many were rejected."""
    if source not in STREAMS:
        raise InputError(f"--with-people reads Zendesk, Freshdesk and Help Scout people, not {source}'s")
    rejected, counted = 0, []
    for kind in (ORGANIZATIONS, CUSTOMERS):
        if kind.name not in ADAPTERS[source]:
            continue  # Help Scout has customers, no companies
        total = 0
        for path, plain_ok in ((tickets_input, False), *(((users, True),) if users and kind is CUSTOMERS else ())):
            reader = PeopleReader(path, kind, source)
            if not reader.streams or not (reader.is_stream or plain_ok):
                reader.close()
                continue  # tickets, not people: nothing of this kind here
            if client is None:
                total += sum(1 for row in reader if row.problem is None)
                reader.close()
                continue
            done = await import_people(client, kind, str(path), source_system=source, reader=reader)
            total += done.records
            say(f"{kind.name}: {done.line()}" + (f" (rejects: {done.rejects_path})" if done.rejected else ""))
            rejected += done.rejected
        if client is None or total:
            counted.append(f"{kind.name} {total:,} in the input")
    if client is None:
        say("people first: " + ", ".join(counted) + " (a dry run doesn't read the target to match them)")
    elif not any(counted):
        say("--with-people: INPUT holds no users or companies (give them with --users FILE, or import them with "
            "`helpspace import customers|organizations FILE`)")
    return rejected

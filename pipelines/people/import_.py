"""`helpspace import customers|organizations`: each record exactly once, matched, never duplicated.

A customer is the same customer in any helpdesk when the email matches (an organization:
the name), and HelpSpace keeps both unique. So the import first reads what the target
already has: a match is reported (and patched with `update_existing`), never created
again. Creates are journaled (intent, then id) like tickets; a create whose answer was
lost is resolved by reading the target again (the email or name now exists or it
doesn't), never by sending blindly. Avatars (base64 in JSONL) follow their customer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from helpspace_async import AmbiguousCreate, HelpSpaceClient, ValidationError

from ..errors import InputError
from ..formats import jsonl
from ..import_.journal import Journal
from .kinds import Kind


@dataclass
class PeopleImport:
    records: int = 0
    created: int = 0
    matched: int = 0  # already in the target (by email / name)
    updated: int = 0
    already_done: int = 0
    rejected: int = 0
    avatars: int = 0
    rejects_path: Path | None = None
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"created {self.created:,} · matched existing {self.matched:,} (updated {self.updated:,}) · "
                f"already done {self.already_done:,} · rejected {self.rejected:,} · avatars {self.avatars:,}")


async def import_people(client: HelpSpaceClient, kind: Kind, source: str, *, update_existing: bool = False,
                        dry_run: bool = False, state: str | None = None) -> PeopleImport:
    path = Path(source)
    if not path.is_file():
        raise InputError(f"input file {path} not found")
    result = PeopleImport(rejects_path=path.with_name(path.name + ".rejects.jsonl"))
    existing = await _existing(client, kind)
    journal = None if dry_run else Journal(Path(state) if state else path.with_name(path.name + ".state.jsonl"))
    rejects: list[bytes] = []
    try:
        for line, raw in jsonl.read_lines(path):
            result.records += 1
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                rejects.append(_reject(line, f"not valid JSON ({exc})", raw.decode("utf-8", "replace")))
                continue
            key = kind.identity(record) if isinstance(record, dict) else None
            if key is None:
                rejects.append(_reject(line, f"{kind.key} is missing", record))
                continue
            try:
                await _one(client, kind, record, key, existing, journal, result, update_existing, dry_run)
            except ValidationError as exc:
                rejects.append(_reject(line, f"the server refused it: {exc.message}", record, exc.field_errors))
    finally:
        if journal is not None:
            journal.close()
    result.rejected = len(rejects)
    if rejects:
        assert result.rejects_path is not None
        result.rejects_path.write_bytes(b"".join(rejects))
    return result


async def _one(client: HelpSpaceClient, kind: Kind, record: dict[str, Any], key: str, existing: dict[str, int],
               journal: Journal | None, result: PeopleImport, update_existing: bool, dry_run: bool) -> None:
    resource = kind.resource(client)
    if journal is not None and key in journal.done:
        result.already_done += 1
        return
    target = existing.get(key)
    if target is not None:
        result.matched += 1
        if update_existing and not dry_run:
            await resource.update(target, {k: v for k, v in kind.body(record).items() if k != "created_at"})
            result.updated += 1
    elif not dry_run:
        assert journal is not None
        if key in journal.intents:  # a previous run sent it and never heard back
            existing.update(await _existing(client, kind))
            target = existing.get(key)
        if target is None:
            await journal.intend(key)
            try:
                target = int((await resource.create(kind.body(record)))["id"])
                result.created += 1
            except AmbiguousCreate:
                existing.update(await _existing(client, kind))  # made, or not: the target says
                target = existing.get(key)
                if target is None:
                    target = int((await resource.create(kind.body(record)))["id"])
                    result.created += 1
        existing[key] = target
    if journal is not None and target is not None:
        await journal.created(key, target)
    avatar = record.get("avatar")
    if kind.name == "customers" and isinstance(avatar, dict) and avatar.get("data") and target is not None and not dry_run:
        await client.customers.set_avatar(target, avatar["mime_type"], avatar["data"])
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

"""Import tickets from JSONL or CSV, exactly once, with attachments and follow-ups.

Two streaming passes over the input: the first checks records, counts them and
collects tag names (so missing tags can be created before any ticket needs them);
the second plans, encodes and sends with bounded concurrency. The parts:
reader.py (input -> rows), records.py (row -> plan), encode.py (plan -> request
bodies), exactly_once.py (bodies -> tickets, journaled), summary.py (what happened).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

import orjson

from helpspace_async import HelpSpaceClient, HelpSpaceError, ValidationError

from .. import locks
from ..errors import InputError, Rejected, RunStopped
from ..fetch import SOURCE_HOSTS, SourceFetcher, host_pattern
from ..progress import Progress
from ..resume import run_identity
from ..sources import api as source_api
from ..sources.common import SourceContext
from ..sources.generic import load_mapping
from ..storage import check_local_output
from .dry_run import CountingSender, DryRunClient
from .encode import Encoder
from .exactly_once import ExactlyOnce
from .journal import Journal
from .reader import RecordReader, Row, SkippedRecord, Unreadable
from .records import Plan, make_plan
from .source_lookups import SourceLookups
from .summary import ImportSummary

READ_BATCH = 32  # records read per trip to the reader thread


@dataclass
class ImportOptions:
    input: str
    format: str | None = None
    state: str | None = None
    rejects: str | None = None
    attachments_dir: str | None = None
    dry_run: bool = False
    limit: int | None = None
    notify: bool = False
    create_tags: bool = True
    progress: bool = True
    source: str | None = None  # zendesk, freshdesk, helpscout, helpspace, generic; None: detect
    source_tz: str | None = None  # None: UTC, except where the source writes local times (Zendesk CSV): asked for
    map_path: str | None = None
    status_map: dict[str, str] = field(default_factory=dict)
    include_notes: bool = False
    keep_links: bool = False
    source_token: str | None = None  # for attachment URLs on the old helpdesk; never logged
    source_urls: list[str] = field(default_factory=list)  # the old helpdesk's addresses: where the token may go
    source_user: str | None = None  # Basic auth: Zendesk "you@acme.com/token"; none with --source-auth basic: key + "X"
    source_auth: str = "bearer"
    lookups: dict[str, str] = field(default_factory=dict)  # kind (users, agents, groups, fields) -> file


class Importer:
    """Composes the client with a reader, an encoder, the exactly-once sender and a rejects file."""

    def __init__(self, client: HelpSpaceClient | DryRunClient, options: ImportOptions) -> None:
        self.client = client
        self.options = options
        path = Path(options.input)
        context = SourceContext(source_tz=options.source_tz or "UTC", status_map=options.status_map,
                                include_notes=options.include_notes)
        self.reader = RecordReader(path, fmt=options.format, source=options.source, context=context, limit=options.limit,
                                   lookups={kind: Path(p) for kind, p in options.lookups.items()})
        if self.reader.source == "zendesk" and self.reader.format == "csv" and options.source_tz is None:
            raise InputError("Zendesk's CSV export writes dates in the account's time zone without saying which: pass "
                             "--source-tz with that zone (Zendesk Admin Center > Account > Localization), e.g. "
                             "--source-tz Europe/Berlin, or --source-tz UTC if it is UTC")
        if options.lookups and self.reader.source not in source_api.NEEDS:
            raise InputError(f"--{', --'.join(options.lookups)} resolve ids in Zendesk, Freshdesk and Help Scout "
                             f"exports; this input reads as {self.reader.source} (--from to choose)")
        if self.reader.source == "generic":
            context.mapping = self._mapping(options.map_path)
        self.source = self.reader.source
        self.state_path = Path(options.state) if options.state else path.with_name(path.name + ".state.jsonl")
        self.rejects_path = Path(options.rejects) if options.rejects else path.with_name(path.name + ".rejects.jsonl")
        self.summary = ImportSummary(source=self.source, source_detected=self.reader.source_detected)
        self.progress = Progress("tickets", enabled=options.progress)
        hosts = SOURCE_HOSTS.get(self.source, ()) + tuple(host_pattern(u) for u in options.source_urls)
        self.fetcher = SourceFetcher(options.source_token, user=options.source_user, auth=options.source_auth, hosts=hosts)
        base_dir = Path(options.attachments_dir) if options.attachments_dir else path.parent
        api_url = options.source_urls[0] if options.source_urls and options.source_token else None  # the source's API
        refresher = source_api.LinkRefresher(self.fetcher, self.source, api_url) if api_url else None
        self.encoder = Encoder(base_dir, self.fetcher, keep_links=options.keep_links,
                               download_images=self.source != "helpspace", refresher=refresher)
        self.journal: Journal | None = None
        known = Journal(self.state_path, read_only=True) if options.dry_run else None
        self.sender: ExactlyOnce | CountingSender = CountingSender(
            self.summary, known.done if known else None, known.parts if known else None)
        self._rejects: IO[bytes] | None = None
        self._agents: dict[str, int] | None = None
        self._agents_lock = asyncio.Lock()
        self.notice: Callable[[str], None] = lambda _: None  # the CLI prints what the run fetched or read
        self.lookups = SourceLookups(self.fetcher, self.reader, api_url, path,
                                     lambda message: self.notice(message))

    @staticmethod
    def _mapping(path: str | None) -> dict[str, Any]:
        if not path:
            raise InputError("--from generic needs --map MAPPING (see samples/sources/generic-mapping.json)")
        try:
            return load_mapping(path)
        except (OSError, ValueError) as exc:
            raise InputError(f"mapping {path}: {exc}") from None

    # --- the run ------------------------------------------------------------------------

    async def run(self) -> ImportSummary:
        """The whole import, holding the journal's lock: two runs never send the same records."""
        check_local_output(self.rejects_path)
        check_local_output(self.state_path)
        with locks.hold(locks.sidecar(self.state_path), f"the import journal {self.state_path}"):
            return await self._run()

    async def _run(self) -> ImportSummary:
        started = time.monotonic()
        rejects_part = self.rejects_path.with_name(self.rejects_path.name + ".part")
        self._rejects = open(rejects_part, "wb")
        try:
            await asyncio.to_thread(self.reader.index_streams)
            tags, total, needs = await asyncio.to_thread(self._survey)
            while await self.lookups.add_missing(needs):  # names and labels changed, and what a rejected
                tags, total, needs = await asyncio.to_thread(self._survey)  # record named is seen now
            self.summary.lookups = self.reader.lookup_counts()
            self.progress.start(total, "import" if not self.options.dry_run else "dry run")
            if isinstance(self.client, HelpSpaceClient) and not self.options.dry_run:
                self.journal = Journal(self.state_path, account=run_identity(self.client.base_url,
                                                                            self.client.client_id, "import"))
                self.sender = ExactlyOnce(self.client, self.journal, self.summary)
                await self._ensure_tags(self.client, tags)
            await self._send_all()
        finally:
            self.progress.close()
            self._rejects.close()
            if self.summary.rejected:
                rejects_part.replace(self.rejects_path)
            else:
                rejects_part.unlink(missing_ok=True)
                self.rejects_path.unlink(missing_ok=True)
            if self.journal:
                self.journal.close()
            await self.fetcher.close()
            self.reader.close()
            self.summary.downloaded = self.fetcher.downloaded
            self.summary.attachments = self.encoder.counts
            self.summary.expiring_links = self.encoder.expiring_links
            self.summary.elapsed = time.monotonic() - started
        return self.summary

    def _survey(self) -> tuple[set[str], int, dict[str, set[str]]]:
        """First pass: count records, collect the tags they use and what they name by an id
        that the input doesn't describe (assignee, group, author, field, requester, threads)."""
        tags: set[str] = set()
        needs: dict[str, set[str]] = {}
        total = 0
        for item in self.reader:
            total += 1
            if isinstance(item, (Row, Unreadable)):
                for what, key in item.unresolved:
                    needs.setdefault(what, set()).add(key)
            if isinstance(item, Row) and isinstance(item.record.get("tags"), list):
                tags.update(t for t in item.record["tags"] if isinstance(t, str))
        return tags, total, needs

    async def _ensure_tags(self, client: HelpSpaceClient, wanted: set[str]) -> None:
        """HelpSpace drops tags that don't exist: create them first (or report them)."""
        if not wanted:
            return
        existing = {t["name"] async for t in client.tags.iter()}
        missing = sorted(wanted - existing)
        if not self.options.create_tags:
            self.summary.tags_dropped = missing
            return
        for name in missing:
            try:
                await client.tags.create(name)
            except ValidationError:
                pass  # created meanwhile by someone else: fine
            self.summary.tags_created.append(name)

    async def _send_all(self) -> None:
        concurrency = self.client.concurrency
        queue: asyncio.Queue[Row | Unreadable | SkippedRecord | None] = asyncio.Queue(maxsize=concurrency * 2)

        def batch(iterator: Iterator[Row | Unreadable | SkippedRecord]) -> list[Row | Unreadable | SkippedRecord]:
            return list(islice(iterator, READ_BATCH))

        async def produce() -> None:
            iterator = iter(self.reader)
            while items := await asyncio.to_thread(batch, iterator):  # file reads stay off the loop
                for item in items:
                    await queue.put(item)
            for _ in range(concurrency):
                await queue.put(None)

        async def work() -> None:
            while (item := await queue.get()) is not None:
                await self._one(item)

        tasks = [asyncio.ensure_future(produce())] + [asyncio.ensure_future(work()) for _ in range(concurrency)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _one(self, item: Row | Unreadable | SkippedRecord) -> None:
        self.summary.records += 1
        try:
            if isinstance(item, SkippedRecord):
                self.summary.skipped[item.reason] += 1
                return
            if isinstance(item, Unreadable):
                self.summary.note_unresolved(item.unresolved)
                self._reject(item.line, None, item.reason, {}, item.original)
                return
            try:
                await self._import(item)
            except Rejected as exc:
                self._reject(item.line, item.record, exc.reason, exc.field_errors, item.record)
            except ValidationError as exc:
                self._reject(item.line, item.record, f"the server refused it: {exc.message}", exc.field_errors, item.record)
            except (HelpSpaceError, RunStopped):
                raise  # the API or the network failed, not this record: stop, the journal has it
            except Exception as exc:  # a record we could not handle must not stop the others
                self._reject(item.line, item.record, f"could not process this record: {type(exc).__name__}: {exc}", {},
                             item.record)
        finally:
            self.progress.advance()

    async def _import(self, row: Row) -> None:
        plan = make_plan(row.record, notify=self.options.notify)
        plan.skipped_notes, plan.flags = row.skipped_notes, list(row.flags)
        if self.sender.all_done(plan):
            self.summary.already_done += 1
            return
        self._count(plan)
        self.summary.note_unresolved(row.unresolved)
        self.summary.note_dates(row.line, plan.ticket)
        if plan.assignee_email and isinstance(self.client, HelpSpaceClient) and not self.options.dry_run:
            agent = await self._agent_id(self.client, plan.assignee_email)
            if agent is not None:
                plan.ticket["assignee"] = {"id": agent}
        message, follow_bodies = await self.encoder.messages(plan.message, plan.follow_ups, plan.source_ticket)
        self.summary.notes_skipped += plan.skipped_notes
        await self.sender.send(plan, {**plan.ticket, "message": message}, follow_bodies)

    def _count(self, plan: Plan) -> None:
        s = self.summary
        s.by_status[plan.ticket.get("status", "open")] += 1
        s.by_tag.update(plan.ticket.get("tags") or [])
        if plan.assignee_email:
            s.by_assignee[plan.assignee_email] += 1
        s.flags.update(plan.flags)

    async def _agent_id(self, client: HelpSpaceClient, email: str) -> int | None:
        """The HelpSpace agent with this email (agents are read once); None leaves it unassigned."""
        async with self._agents_lock:
            if self._agents is None:
                body = await client.request("GET", "/api/v1/agents")
                self._agents = {str(a.get("email", "")).lower(): a["id"] for a in (body or {}).get("data", [])}
        found = self._agents.get(email.lower())
        if found is None:
            self.summary.unmatched_assignees.add(email)
        return found

    def _reject(self, line: int, record: Any, reason: str, field_errors: dict[str, list[str]], original: Any) -> None:
        self.summary.rejected += 1
        key = None
        if isinstance(record, dict):
            try:
                key = make_plan(record).key
            except Rejected:
                key = None
        entry = {"line": line, "key": key, "reason": reason, "field_errors": field_errors, "record": original}
        assert self._rejects is not None
        self._rejects.write(orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS) + b"\n")
        self._rejects.flush()


__all__ = ["ImportOptions", "ImportSummary", "Importer"]

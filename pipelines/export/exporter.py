"""Export tickets to JSONL or CSV: complete under churn, resumable, in constant memory.

Why the passes: a listing is newest first, so a ticket created while we page pushes
every later ticket back one place (we may see one twice: dedupe by id), and a ticket
deleted pulls them forward (we may skip one). Tickets created during a run all land
in the newest days, so the listing is split with the documented `created-between`:

- the *stable* segment (created before the day before yesterday) can only lose
  tickets while we read. One fast concurrent pass; if `meta.total` moved during it,
  one sequential pass from the last page down to the first, which cannot skip
  anything when tickets only disappear (each deletion moves unread tickets towards
  pages still to come);
- the *recent* segment (small) is re-read until a pass sees its total hold still.

The segments overlap by a day, so a date filter whose end is exclusive or whose days
are in another time zone loses nothing (dedupe drops the overlap). A server that
ignores the filter (the recent segment holds nearly everything) is read as one
segment re-read both ways, with a warning: exact under deletions or creations, best
effort when both happen at once. Every ticket that exists for the whole run is
written exactly once.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import helpspace_async
from helpspace_async import HelpSpaceClient
from helpspace_async.paging import Page, ordered_pages
from helpspace_async.protocol import encode_query, page_params, ticket_filter_params

from ..errors import ExportConfigError
from ..files import write_json_atomic
from ..formats import Writer, detect_format, open_writer, read_ids
from ..progress import Progress
from .enrich import EMBED_LIMIT, Enricher
from .plan import Segment, ignores_date_filter, next_pass, plan_segments
from .state import Checkpoint, Position, load_checkpoint

CHECKPOINT_EVERY = 1.0  # seconds between durable checkpoints


@dataclass
class ExportOptions:
    """What `helpspace export tickets` was asked to do."""

    output: str
    format: str | None = None
    per_page: int = 50
    status: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    subject: list[str] = field(default_factory=list)
    created_between: str | None = None
    with_messages: bool = False
    attachments: str | None = None  # "embed" or a folder
    resume: bool = False
    formula_guard: bool = True
    progress: bool = True
    partition_by: str | None = None  # Parquet only: "created_date" or "status"
    segments: list[Segment] | None = None  # a plan from outside (incremental runs)
    embed_limit: int = EMBED_LIMIT  # bytes of one attachment with --attachments embed

    def filters(self) -> dict[str, Any]:
        return {"status": self.status, "tags": self.tags, "subject": self.subject}

    def fingerprint(self, fmt: str) -> dict[str, Any]:
        """What must match for a checkpoint to be continued."""
        return {
            "format": fmt, "per_page": self.per_page, "status": sorted(self.status), "tags": sorted(self.tags),
            "subject": sorted(self.subject), "created_between": self.created_between,
            "with_messages": self.with_messages, "attachments": self.attachments,
            "formula_guard": self.formula_guard, "partition_by": self.partition_by,
        }

    def validate(self, fmt: str) -> None:
        """Refuse combinations that can't work, before anything is sent."""
        if self.output == "-" and (fmt != "jsonl" or self.resume):
            raise ExportConfigError("--output - writes JSONL to stdout and can't be resumed")
        if fmt == "parquet":
            from ..formats import parquet_format

            try:
                parquet_format.require()
            except ImportError as exc:
                raise ExportConfigError(str(exc)) from None
            if self.resume:
                raise ExportConfigError("a Parquet export can't be resumed (its footer is written last); run it again without --resume")
        if self.partition_by and fmt != "parquet":
            raise ExportConfigError("--partition-by writes Parquet folders: use --format parquet")
        if self.partition_by not in (None, "created_date", "status"):
            raise ExportConfigError("--partition-by is created_date or status")
        if self.attachments and not self.with_messages:
            raise ExportConfigError("--attachments needs --with-messages (attachments belong to messages)")
        try:
            ticket_filter_params(**self.filters(), created_between=self.created_between)
            page_params(1, self.per_page)
        except ValueError as exc:
            raise ExportConfigError(str(exc)) from None


@dataclass
class ExportResult:
    path: Path
    count: int
    sha256: str
    elapsed: float
    passes: int
    manifest: Path | None
    problems: list[str] = field(default_factory=list)  # what the server sent that could not be saved


class Exporter:
    """Composes the client with a Writer: listing passes, dedupe by id, checkpoints."""

    def __init__(self, client: HelpSpaceClient, options: ExportOptions, *, today: date | None = None) -> None:
        self.client = client
        self.options = options
        self.format = detect_format(options.output, options.format)
        options.validate(self.format)
        self.today = today or datetime.now(timezone.utc).date()
        self.path = Path(options.output)
        self.checkpoint_path = self.path.with_name(self.path.name + ".checkpoint.json")
        self.manifest_path = self.path.with_name(self.path.name + ".manifest.json")
        self.seen: set[int] = set()
        self.count = 0
        self.passes = 0
        self.warnings: list[str] = []
        self.progress = Progress("tickets", enabled=options.progress)
        self.enricher = (Enricher(client, attachments=options.attachments, output=self.path, embed_limit=options.embed_limit)
                         if options.with_messages else None)
        self.skipped: dict[str, str] = {}  # tickets left out, by the id the server gave them
        self._out: Writer | None = None
        self._prefetched: asyncio.Future[Page] | None = None
        self._queries: dict[Segment, str] = {}
        self._position = Position()
        self._segments: list[Segment] = []
        self._last_checkpoint = 0.0
        self._started_at = datetime.now(timezone.utc).isoformat()

    # --- the run -----------------------------------------------------------------------

    async def run(self) -> ExportResult:
        started = time.monotonic()
        self._open()
        try:
            await self._all_segments()
        except BaseException:
            self._stop()
            raise
        self.progress.close()
        assert self._out is not None
        digest = self._out.finish()
        manifest = self._write_manifest(digest)
        self.checkpoint_path.unlink(missing_ok=True)
        return ExportResult(self.path, self.count, digest, time.monotonic() - started, self.passes, manifest, self.problems)

    @property
    def problems(self) -> list[str]:
        """Tickets and attachments the server described in a way that can't be saved safely."""
        tickets = [f"a ticket with id {tid} was left out: {why}" for tid, why in self.skipped.items()]
        return tickets + (self.enricher.problems if self.enricher else [])

    async def _all_segments(self) -> None:
        planned = self.options.segments or plan_segments(self.options.created_between, self.today)
        recent = [s for s in planned if s.kind == "recent"] if not self.options.segments else []
        if not self._segments and planned:  # page 1 travels with the counts: one round trip saved
            self._prefetched = asyncio.ensure_future(self._fetch(planned[0], 1))
        counted = await asyncio.gather(  # one round trip for both counts
            self._count_all(planned),
            *(self.client.tickets.count(**self._filters(s.created_between)) for s in recent[:1]),
        )
        total = counted[0]
        self.progress.start(max(total, self.count), "export")
        self.progress.advance(self.count)
        if not self._segments:
            self._segments = self.options.segments or self._plan(planned, total, counted[1] if len(counted) > 1 else None)
        while self._position.segment < len(self._segments):
            await self._run_segment(self._segments[self._position.segment])
            self._position = Position(segment=self._position.segment + 1)
            self._save_checkpoint(force=True)

    def _stop(self) -> None:
        """A failed or interrupted run: keep what a resume needs, or leave nothing behind."""
        if self._prefetched is not None:
            self._prefetched.cancel()
        self.progress.close()
        if self._out is None:
            return
        if self.count == 0:
            self._out.abandon()  # nothing to resume from: leave nothing behind
            self.checkpoint_path.unlink(missing_ok=True)
        else:
            self._save_checkpoint(force=True)
            self._out.close()

    def _filters(self, created_between: str | None, last_contact_between: str | None = None) -> dict[str, Any]:
        return {**self.options.filters(), "created_between": created_between, "last_contact_between": last_contact_between}

    async def _count_all(self, planned: list[Segment]) -> int:
        """How many tickets the export will hold (for progress): the listing, or an outside plan's sum."""
        if not self.options.segments:
            return await self.client.tickets.count(**self._filters(self.options.created_between))
        counts = await asyncio.gather(*(self.client.tickets.count(**self._filters(s.created_between, s.last_contact_between))
                                        for s in planned))
        return sum(counts)

    def _plan(self, segments: list[Segment], total: int, in_recent: int | None) -> list[Segment]:
        if ignores_date_filter(segments, total, in_recent):
            self.warnings.append(
                "the server seems to ignore created-between (the last days hold nearly every ticket); "
                "reading the whole listing, re-read until it holds still"
            )
            return [Segment("whole", self.options.created_between)]
        return segments

    async def _run_segment(self, segment: Segment) -> None:
        pos = self._position
        while True:
            if pos.descending:
                await self._descending_pass(segment)
            else:
                await self._ascending_pass(segment)
            self.passes += 1
            following = next_pass(segment, pos.pass_no, pos.descending, pos.resumed or pos.total_moved)
            if following is None:
                return
            self._position = pos = Position(segment=pos.segment, pass_no=pos.pass_no + 1, descending=following)
            self._save_checkpoint(force=True)

    async def _fetch(self, segment: Segment, number: int) -> Page:
        query = self._queries.get(segment)
        if query is None:  # encoded once per segment, not once per page
            filters = self._filters(segment.created_between, segment.last_contact_between)
            query = self._queries[segment] = encode_query(ticket_filter_params(**filters))
        return await self.client.tickets.page(number, per_page=self.options.per_page, params=query)

    async def _ascending_pass(self, segment: Segment) -> None:
        start = self._position.page + 1
        prefetched, self._prefetched = self._prefetched, None
        use_prefetched = prefetched is not None and start == 1 and self._position.pass_no == 0 and self._segments[0] == segment

        async def fetch(number: int) -> Page:
            if use_prefetched and number == 1:
                assert prefetched is not None
                return await prefetched
            return await self._fetch(segment, number)

        if prefetched is not None and not use_prefetched:
            prefetched.cancel()
        pages = ordered_pages(fetch, per_page=self.options.per_page, start=start, window=self.client.concurrency * 2)
        pending: deque[tuple[Page, asyncio.Future[list[dict[str, Any]]]]] = deque()
        try:
            async for page in pages:
                self._note_total(page)
                pending.append((page, asyncio.ensure_future(self._new_tickets(page.items))))
                while len(pending) > 4:
                    await self._write_page(*pending.popleft())
            while pending:
                await self._write_page(*pending.popleft())
        finally:  # a failed pass leaves no message fetches running behind it
            for _, task in pending:
                task.cancel()
            await asyncio.gather(*(task for _, task in pending), return_exceptions=True)

    async def _descending_pass(self, segment: Segment) -> None:
        pos = self._position
        if pos.page == 0:
            first = await self._fetch(segment, 1)
            self._note_total(first)
            pos.page = first.meta.last_page if first.meta else 1
        while pos.page >= 1:
            page = await self._fetch(segment, pos.page)
            self._note_total(page)
            await self._write_page(page, asyncio.ensure_future(self._new_tickets(page.items)), next_page=pos.page - 1)

    def _note_total(self, page: Page) -> None:
        if page.meta is not None:
            self._position.note_total(page.meta.total)

    async def _new_tickets(self, tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The tickets not written yet, with their messages when asked for."""
        fresh = []
        for t in tickets:
            tid = t.get("id")
            if type(tid) is not int:  # it would name files and journal keys: never trusted unchecked
                self.skipped[repr(tid)[:80]] = "ticket ids must be numbers"
            elif tid not in self.seen:
                self.seen.add(tid)
                fresh.append(t)
        if self.enricher is not None:
            await asyncio.gather(*(self.enricher.add_messages(t) for t in fresh))
        return fresh

    async def _write_page(self, page: Page, fresh: Awaitable[list[dict[str, Any]]], *, next_page: int | None = None) -> None:
        tickets = await fresh
        assert self._out is not None
        self._out.write(tickets)
        self.count += len(tickets)
        self.progress.advance(len(tickets))
        self._position.page = page.number if next_page is None else next_page
        self._save_checkpoint()

    # --- files -------------------------------------------------------------------------

    def _open(self) -> None:
        saved = None
        if self.options.resume and self.options.output != "-":
            saved = load_checkpoint(self.checkpoint_path, self.options.fingerprint(self.format))
        self._out = open_writer(self.format, self.path, with_messages=self.options.with_messages,
                                formula_guard=self.options.formula_guard, partition_by=self.options.partition_by,
                                resume_offset=saved.offset if saved else None)
        if saved is not None:
            part = self.path.with_name(self.path.name + ".part")
            self.seen = set(read_ids(self.format, part)) if saved.offset else set()
            self.count = len(self.seen)
            self._position = saved.position
            self._segments = saved.segments
            self._started_at = saved.started_at

    def _save_checkpoint(self, *, force: bool = False) -> None:
        out = self._out
        if out is None or not out.resumable or getattr(out, "closed", False):
            return
        now = time.monotonic()
        if not force and now - self._last_checkpoint < CHECKPOINT_EVERY:
            return
        self._last_checkpoint = now
        Checkpoint(self.options.fingerprint(self.format), out.sync(), self.count, self._position,
                   self._segments, self._started_at).save(self.checkpoint_path)

    def _write_manifest(self, digest: str) -> Path | None:
        if self.options.output == "-":
            return None
        partitions = self._out.partitions if self._out is not None else {}
        write_json_atomic(
            self.manifest_path,
            {
                "file": self.path.name,
                "format": self.format,
                "gzip": self.path.name.endswith(".gz"),
                "tickets": self.count,
                "sha256": digest,
                "bytes": self.path.stat().st_size if self.path.is_file() else None,
                **({"partitions": partitions} if partitions else {}),
                "filters": {k: v for k, v in self.options.fingerprint(self.format).items() if k not in ("format",)},
                "started_at": self._started_at,
                "finished_at": datetime.now(timezone.utc).isoformat(),
                "passes": self.passes,
                "requests": self.client.stats.requests,
                "base_url": self.client.base_url,
                "client": f"helpspace-async {helpspace_async.__version__}",
                **({"complete": False, "problems": self.problems} if self.problems else {}),
            },
        )
        return self.manifest_path

"""Export tickets to JSONL, CSV or Parquet: complete under churn, resumable, in constant memory.

The promise: every ticket that exists for the whole run is written exactly once
(dedupe by id makes "at most once" easy; "at least once" is the work), whatever the
listing order and whatever is created or deleted meanwhile. How:

1. The listing is split by the documented `created-between` into a *stable* segment
   (created before the day before yesterday) and a *recent* one, overlapping by a day
   (a filter whose end is exclusive or whose days are in another time zone loses
   nothing). New tickets of a live helpdesk land in the recent one.
2. Each segment is *scanned*: one fast concurrent pass, page by page, watching for
   evidence of change (evidence.py: `meta.total` moving, a ticket seen twice, a ticket
   created or edited since the pass began). No evidence proves the pass skipped
   nothing (the argument is at the top of evidence.py): done, at the cost of one pass.
3. With evidence, the segment is *verified* by snapshot windows (windows.py): day
   ranges planned from the creation dates the scan saw, each holding at most 90% of a
   page, each read in one request, which is a consistent snapshot of that range. About
   1.1-1.4 passes more, so a run under churn costs about 2.5 passes at most.
4. A server that ignores `created-between` (the recent days hold nearly everything)
   can't be windowed: it is re-scanned until a pass shows no evidence (best effort
   after four passes, said in the manifest).

The manifest records the listing order found and how completeness was established
per segment (`verified` with the method, or `best_effort` with the reason). A resumed
run re-reads the page it stopped at: if it is unchanged, the scan goes on from there;
if not, that is evidence, and the segment is verified at its end.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from helpspace_async import HelpSpaceClient
from helpspace_async.paging import Page, ordered_pages
from helpspace_async.protocol import encode_query, page_params, ticket_filter_params

from .. import locks
from ..boundary import shown_id, ticket_problem
from ..errors import ExportConfigError
from ..files import write_json_atomic
from ..formats import detect_format
from ..progress import Progress
from ..resume import run_identity
from ..storage import check_remote, is_remote
from .enrich import EMBED_LIMIT, Enricher
from .evidence import Evidence, listing_order
from .manifest import manifest
from .output import ExportOutput
from .plan import Segment, creation_day, ignores_date_filter, plan_segments, windows_for
from .reuse import PreviousSnapshot
from .state import Checkpoint, Position
from .windows import WindowReader

MAX_RESCANS = 4  # passes over a listing that ignores created-between before settling for best effort
WINDOW_FILL = 0.9  # a window is planned to hold at most this share of a page (room for churn)
CLOCK_MARGIN = 1.0  # seconds: updated_at is whole seconds (the Date-derived offset already errs early)


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
    restart: bool = False  # a checkpoint waits: drop it and start over (without either, the run refuses)
    formula_guard: bool = True
    progress: bool = True
    partition_by: str | None = None  # Parquet only: "created_date" or "status"
    segments: list[Segment] | None = None  # a plan from outside (incremental runs)
    embed_limit: int = EMBED_LIMIT  # bytes of one attachment with --attachments embed
    reuse: str | None = None  # an earlier --with-messages JSONL export: copy unchanged tickets' messages

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
        if is_remote(self.output):
            check_remote(self.output)
            if self.resume:
                raise ExportConfigError("an export to object storage can't be resumed (nothing is uploaded until it "
                                        "is complete); run it again without --resume")
            if self.attachments not in (None, "embed"):
                raise ExportConfigError("with an object-storage --output, use --attachments embed (a DIR is local)")
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
        if self.reuse and (not self.with_messages or fmt != "jsonl" or self.output == "-"):
            raise ExportConfigError("--reuse makes a snapshot with messages that the next run can reuse in turn: "
                                    "use it with --with-messages and a .jsonl or .jsonl.gz --output")
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
    url: str | None = None  # where an object-storage export was uploaded

    @property
    def where(self) -> str:
        return self.url or str(self.path)


class Exporter:
    """Composes the client with a Writer: listing passes, dedupe by id, checkpoints."""

    def __init__(self, client: HelpSpaceClient, options: ExportOptions, *, today: date | None = None) -> None:
        self.client = client
        self.options = options
        self.format = detect_format(options.output, options.format)
        options.validate(self.format)
        self.today = today or datetime.now(timezone.utc).date()
        self.output = ExportOutput(options.output, self.format)
        self.path = self.output.path
        self.checkpoint_path = self.output.checkpoint_path
        self.seen: set[int] = set()
        self.count = 0
        self.passes = 0
        self.warnings: list[str] = []
        self.progress = Progress("tickets", enabled=options.progress)
        self.enricher = (Enricher(client, attachments=options.attachments, output=self.path, embed_limit=options.embed_limit)
                         if options.with_messages else None)
        self.skipped: dict[str, str] = {}  # tickets left out, by the id the server gave them
        self._prefetched: asyncio.Future[Page] | None = None
        self._queries: dict[Segment, str] = {}
        self._position = Position()
        self._segments: list[Segment] = []
        self._started_at = datetime.now(timezone.utc).isoformat()
        self._days: Counter[str | None] = Counter()  # creation days of the tickets written: windows are planned from them
        self._evidence: Evidence | None = None
        self._windows: WindowReader | None = None
        self._write_lock = asyncio.Lock()
        self.order = "unknown"
        self.completeness: list[dict[str, Any]] = []
        self.previous: PreviousSnapshot | None = None
        self.deleted_since_previous: list[int] = []

    # --- the run -----------------------------------------------------------------------

    async def run(self) -> ExportResult:
        await asyncio.to_thread(self.output.preflight, folder=bool(self.options.partition_by))
        if self.output.lock_file is None:  # stdout: nothing to share
            return await self._run()
        with locks.hold(self.output.lock_file, f"the export to {self.options.output}"):
            return await self._run()

    async def _run(self) -> ExportResult:
        started = time.monotonic()
        if self.options.reuse and self.enricher is not None:
            self.previous = await asyncio.to_thread(
                PreviousSnapshot, Path(self.options.reuse), output=self.path, options=self.options.fingerprint(self.format))
            self.enricher.previous = self.previous
        self._open()
        try:
            await self._all_segments()
        except BaseException:
            self._stop()
            raise
        finally:
            if self.previous is not None:
                self.deleted_since_previous = [tid for tid in self.previous.ids() if tid not in self.seen]
                self.previous.close()
        self.progress.close()
        digest = self.output.finish()
        manifest = self._write_manifest(digest)
        url = await self.output.upload(manifest)
        return ExportResult(self.path, self.count, digest, time.monotonic() - started, self.passes, manifest,
                            self.problems, url)

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
        self.output.stop(keep=self.count > 0, make=self._checkpoint)  # no rows: nothing to resume from

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
        if pos.stage == "scan":
            evidence = await self._scan(segment)
            if not evidence.found:
                return self._settled(segment, "verified", "one pass, no change seen")
            pos.stage = "rescan" if segment.kind == "whole" else "verify"
            fill = max(1, int(self.options.per_page * WINDOW_FILL))
            pos.windows = [[str(a), str(b)] for a, b in windows_for(segment, self._days, fill)] if pos.stage == "verify" else []
            self._save_checkpoint(force=True)
        if pos.stage == "verify":
            await self._verify(segment)
            return None
        while pos.pass_no + 1 < MAX_RESCANS:  # whole: re-scan until one pass sees no change
            pos.pass_no, pos.page, pos.evidence = pos.pass_no + 1, 0, None
            if not (await self._scan(segment)).found:
                return self._settled(segment, "verified", f"re-read until a pass saw no change ({pos.pass_no + 1} passes)")
        return self._settled(segment, "best_effort", f"the listing ignores created-between and still changed after "
                                                     f"{MAX_RESCANS} passes")

    def _settled(self, segment: Segment, status: str, how: str) -> None:
        self.completeness.append({"segment": segment.kind, "status": status, "method": how})

    async def _verify(self, segment: Segment) -> None:
        """The segment again as snapshot windows (windows.py)."""
        pos = self._position

        async def fetch(created_between: str, number: int) -> Page:
            return await self._fetch(Segment(segment.kind, created_between, segment.last_contact_between), number)

        def done() -> None:
            assert self._windows is not None
            pos.windows = [[str(a), str(b)] for a, b in self._windows.pending]
            self._save_checkpoint()

        self._windows = reader = WindowReader(
            fetch, self._write_tickets, per_page=self.options.per_page, concurrency=self.client.concurrency,
            since=self._since, seen=self.seen, on_done=done)
        windows = [(date.fromisoformat(a), date.fromisoformat(b)) for a, b in pos.windows]
        await reader.run(windows)
        self.passes += 1
        reason = self._evidence.reason() if self._evidence else "a resumed run"
        if reader.unsettled:
            return self._settled(segment, "best_effort", "snapshot windows; " + "; ".join(reader.unsettled[:5]))
        return self._settled(segment, "verified", f"snapshot windows ({reader.requests} requests) after evidence: {reason}")

    def _since(self) -> float:
        margin = CLOCK_MARGIN if self.client.clock_offset is not None else 600.0  # no Date header: allow skew
        return self.client.server_now() - margin

    async def _fetch(self, segment: Segment, number: int) -> Page:
        query = self._queries.get(segment)
        if query is None:  # encoded once per segment, not once per page
            filters = self._filters(segment.created_between, segment.last_contact_between)
            query = self._queries[segment] = encode_query(ticket_filter_params(**filters))
        page = await self.client.tickets.page(number, per_page=self.options.per_page, params=query)
        if not all(isinstance(t, dict) for t in page.items):  # the boundary: nothing downstream sees a non-object
            for item in page.items:
                if not isinstance(item, dict):
                    self.skipped[shown_id(item)] = ticket_problem(item) or ""
            page.items = [t for t in page.items if isinstance(t, dict)]
        return page

    async def _scan(self, segment: Segment) -> Evidence:
        """One fast concurrent pass over the segment, watching for evidence of change."""
        pos = self._position
        evidence = self._evidence = Evidence.from_json(pos.evidence) if pos.evidence else Evidence(since=self._since())
        if pos.resumed and pos.page:
            await self._check_resume_point(segment, evidence)
        start = pos.page + 1
        prefetched, self._prefetched = self._prefetched, None
        use_prefetched = prefetched is not None and start == 1 and pos.pass_no == 0 and self._segments[0] == segment

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
                if page.number == 1 and self.order == "unknown":
                    self.order = listing_order(page.items)
                evidence.total(page.meta.total if page.meta else None)
                pending.append((page, asyncio.ensure_future(self._new_tickets(page.items, evidence))))
                while len(pending) > 4:
                    await self._write_page(*pending.popleft())
            while pending:
                await self._write_page(*pending.popleft())
        finally:  # a failed pass leaves no message fetches running behind it
            for _, task in pending:
                task.cancel()
            await asyncio.gather(*(task for _, task in pending), return_exceptions=True)
        self.passes += 1
        return evidence

    async def _check_resume_point(self, segment: Segment, evidence: Evidence) -> None:
        """A resumed scan re-reads the page it stopped at: unchanged, it goes on; changed, that is evidence."""
        pos = self._position
        page = await self._fetch(segment, pos.page)
        same_total = page.meta is None or not evidence.totals or page.meta.total in evidence.totals
        if [t.get("id") for t in page.items] != pos.last_ids or not same_total:
            evidence.notes.append("the listing moved while the export was stopped")

    async def _new_tickets(self, tickets: list[dict[str, Any]], evidence: Evidence | None = None) -> list[dict[str, Any]]:
        """The tickets not written yet, with their messages when asked for; a scan's evidence noted on the way
        (one loop over the page: this is the export's hot path)."""
        fresh, seen, days = [], self.seen, self._days
        since_utc = evidence.since_utc if evidence is not None else ""
        for t in tickets:
            tid = t.get("id")
            if evidence is not None:
                stamp = t.get("updated_at")
                if type(stamp) is str and len(stamp) == 25 and stamp.endswith("+00:00"):  # the API's UTC format
                    if stamp >= since_utc:
                        evidence.changed += 1
                elif evidence.is_change(stamp, since_utc):
                    evidence.changed += 1
            problem = ticket_problem(t)  # the boundary: ids name files and keys, dates become columns
            if problem is not None:
                self.skipped[shown_id(t)] = problem
            elif tid in seen:
                if evidence is not None:
                    evidence.duplicates += 1
            else:
                seen.add(tid)  # type: ignore[arg-type]  # an int: ticket_problem checked it
                fresh.append(t)
                created = t.get("created_at")
                day = created[:10] if type(created) is str else None  # creation_day(), inlined: per ticket
                days[day] = days.get(day, 0) + 1
        if self.enricher is not None:
            await asyncio.gather(*(self.enricher.add_messages(t) for t in fresh))
        return fresh

    async def _write_page(self, page: Page, fresh: Awaitable[list[dict[str, Any]]]) -> None:
        tickets = await fresh
        self.output.write(tickets)
        self.count += len(tickets)
        self.progress.advance(len(tickets))
        self._position.page = page.number
        self._position.last_ids = [t.get("id") for t in page.items]  # type: ignore[misc]
        self._position.evidence = self._evidence.to_json() if self._evidence else None
        self._save_checkpoint()

    async def _write_tickets(self, tickets: list[dict[str, Any]]) -> None:
        """The verifying pass's tickets: new ones are added (windows finish in any order)."""
        fresh = await self._new_tickets(tickets)
        async with self._write_lock:
            self.output.write(fresh)
            self.count += len(fresh)
            self.progress.advance(len(fresh))

    # --- files -------------------------------------------------------------------------

    def _open(self) -> None:
        identity = run_identity(self.client.base_url, self.client.client_id, "export tickets")
        saved = self.output.open(self.options, self.options.fingerprint(self.format), identity)
        if saved is not None:
            for tid, created_at in self.output.written(saved):
                self.seen.add(tid)
                self._days[creation_day(created_at)] += 1
            self.count = len(self.seen)
            self._position = saved.position
            self._segments = saved.segments
            self._started_at = saved.started_at

    def _checkpoint(self, offset: int) -> Checkpoint:
        return Checkpoint(self.options.fingerprint(self.format), offset, self.count, self._position,
                          self._segments, self._started_at)

    def _save_checkpoint(self, *, force: bool = False) -> None:
        self.output.checkpoint(self._checkpoint, force=force)

    def _write_manifest(self, digest: str) -> Path | None:
        if self.options.output == "-":
            return None
        filters = {k: v for k, v in self.options.fingerprint(self.format).items() if k != "format"}
        write_json_atomic(self.output.manifest_path, manifest(
            self.path, self.format, count=self.count, digest=digest, partitions=self.output.partitions, filters=filters,
            started_at=self._started_at, passes=self.passes, order=self.order, completeness=self.completeness,
            requests=self.client.stats.requests, base_url=self.client.base_url, problems=self.problems,
            reuse=self.previous.figures(self.enricher, self.deleted_since_previous) if self.previous else {},
        ) | ({"attachments_verified": self.enricher.verified} if self.enricher is not None and self.options.attachments
             else {}))
        return self.output.manifest_path

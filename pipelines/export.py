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
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import helpspace_async
from helpspace_async import HelpSpaceClient
from helpspace_async.paging import Page, ordered_pages
from helpspace_async.protocol import date_range, encode_query, page_params, ticket_filter_params
from helpspace_async.resources.messages import ALL_ADDITIONAL_TYPES

from . import checkpoint
from .attachments import b64, safe_name
from .formats import csv_format, detect_format, jsonl
from .output import PartFile, StdoutFile
from .progress import Progress

CHECKPOINT_EVERY = 1.0  # seconds between durable checkpoints
MAX_RECENT_PASSES = 4
FAR_PAST, FAR_FUTURE = date(1970, 1, 1), date(9999, 12, 31)


class ExportConfigError(ValueError):
    """The export can't start as asked (bad options, a checkpoint of another command)."""


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


@dataclass(frozen=True)
class Segment:
    kind: str  # "stable", "recent" or "whole"
    created_between: str | None
    last_contact_between: str | None = None


@dataclass
class Position:
    """Where the export is; saved in the checkpoint and restored by --resume."""

    segment: int = 0
    pass_no: int = 0  # 0: the concurrent scan; 1..: re-passes
    page: int = 0  # ascending passes: last page written; descending: next page to read
    descending: bool = False
    totals: list[int] = field(default_factory=list)  # [lowest, highest] `total` seen this pass
    resumed: bool = False


@dataclass
class ExportResult:
    path: Path
    count: int
    sha256: str
    elapsed: float
    passes: int
    manifest: Path | None


def plan_segments(created_between: str | None, today: date) -> list[Segment]:
    """Split [the user's range] into stable (older than two days) and recent parts."""
    start, end = FAR_PAST, FAR_FUTURE
    if created_between:
        first, _, last = date_range(created_between).partition("/")
        start, end = date.fromisoformat(first), date.fromisoformat(last)
    cut = today - timedelta(days=2)
    segments = []
    if start <= min(end, cut):
        segments.append(Segment("stable", f"{start}/{min(end, cut)}"))
    if max(start, cut - timedelta(days=1)) <= end:  # one day of overlap with "stable"
        segments.append(Segment("recent", f"{max(start, cut - timedelta(days=1))}/{end}"))
    return segments


class Exporter:
    """Composes the client with a row encoder and an atomic output file."""

    def __init__(self, client: HelpSpaceClient, options: ExportOptions, *, today: date | None = None) -> None:
        self.client = client
        self.options = options
        self.format = detect_format(options.output, options.format)
        if options.output == "-" and (self.format != "jsonl" or options.resume):
            raise ExportConfigError("--output - writes JSONL to stdout and can't be resumed")
        if self.format == "parquet":
            from .formats import parquet_format

            try:
                parquet_format.require()
            except ImportError as exc:
                raise ExportConfigError(str(exc)) from None
            if options.resume:
                raise ExportConfigError("a Parquet export can't be resumed (its footer is written last); run it again without --resume")
        if options.partition_by and self.format != "parquet":
            raise ExportConfigError("--partition-by writes Parquet folders: use --format parquet")
        if options.partition_by not in (None, "created_date", "status"):
            raise ExportConfigError("--partition-by is created_date or status")
        if options.attachments and not options.with_messages:
            raise ExportConfigError("--attachments needs --with-messages (attachments belong to messages)")
        ticket_filter_params(**options.filters(), created_between=options.created_between)  # validate early
        page_params(1, options.per_page)
        self.today = today or datetime.now(timezone.utc).date()
        self.path = Path(options.output)
        self.checkpoint_path = self.path.with_name(self.path.name + ".checkpoint.json")
        self.manifest_path = self.path.with_name(self.path.name + ".manifest.json")
        self.seen: set[int] = set()
        self.count = 0
        self.passes = 0
        self.warnings: list[str] = []
        self.progress = Progress("tickets", enabled=options.progress)
        self._out: Any = None  # PartFile, StdoutFile or ParquetOutput
        self._prefetched: asyncio.Future[Page] | None = None
        self._queries: dict[Segment, str] = {}
        self._position = Position()
        self._segments: list[Segment] = []
        self._last_checkpoint = 0.0
        self._started_at = datetime.now(timezone.utc).isoformat()
        if self.format == "csv":
            self._encoder = csv_format.CsvEncoder(with_messages=options.with_messages, guard=options.formula_guard)
        self._attachments_dir = None if options.attachments in (None, "embed") else Path(options.attachments)

    # --- the run -----------------------------------------------------------------------

    async def run(self) -> ExportResult:
        started = time.monotonic()
        self._open()
        try:
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
        except BaseException:
            if self._prefetched is not None:
                self._prefetched.cancel()
            self.progress.close()
            if self._out is not None and self.count == 0:
                self._out.abandon()  # nothing to resume from: leave nothing behind
                self.checkpoint_path.unlink(missing_ok=True)
            else:
                self._save_checkpoint(force=True)
                if self._out is not None:
                    self._out.close()
            raise
        self.progress.close()
        digest = self._out.finish() if self._out else ""
        manifest = self._write_manifest(digest)
        self.checkpoint_path.unlink(missing_ok=True)
        return ExportResult(self.path, self.count, digest, time.monotonic() - started, self.passes, manifest)

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
        if in_recent is not None and total >= 20 and len(segments) == 2:
            if in_recent > total * 0.9:
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
            changed = pos.resumed or (len(pos.totals) == 2 and pos.totals[0] != pos.totals[1])
            next_pass = self._next_pass(segment, pos.pass_no, pos.descending, changed)
            if next_pass is None:
                return
            self._position = pos = Position(segment=pos.segment, pass_no=pos.pass_no + 1, descending=next_pass)
            self._save_checkpoint(force=True)

    @staticmethod
    def _next_pass(segment: Segment, pass_no: int, was_descending: bool, changed: bool) -> bool | None:
        """None when the segment is complete; else whether the next pass reads downwards."""
        if not changed:
            return None
        if segment.kind == "stable":
            return None if was_descending else True
        if segment.kind == "recent":
            return False if pass_no + 1 < MAX_RECENT_PASSES else None
        # whole: down once (catches what deletions skipped), then up until still
        if pass_no == 0:
            return True
        return False if pass_no + 1 < MAX_RECENT_PASSES else None

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
                return await prefetched
            return await self._fetch(segment, number)

        if prefetched is not None and not use_prefetched:
            prefetched.cancel()
        pages = ordered_pages(fetch, per_page=self.options.per_page, start=start, window=self.client.concurrency * 2)
        pending: deque[tuple[Page, asyncio.Future[tuple[list[bytes], int]]]] = deque()
        try:
            async for page in pages:
                self._note_total(page)
                pending.append((page, asyncio.ensure_future(self._encode_new(page.items))))
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
            await self._write_page(page, asyncio.ensure_future(self._encode_new(page.items)), next_page=pos.page - 1)

    def _note_total(self, page: Page) -> None:
        if page.meta is None:
            return
        totals = self._position.totals
        total = page.meta.total
        self._position.totals = [min(totals[0], total), max(totals[1], total)] if totals else [total, total]

    async def _encode_new(self, tickets: list[dict[str, Any]]) -> tuple[list[bytes], int]:
        """Encoded rows of the tickets not written yet, and how many there are."""
        fresh = [t for t in tickets if t.get("id") not in self.seen]
        for t in fresh:
            self.seen.add(t["id"])
        if self.options.with_messages:
            await asyncio.gather(*(self._add_messages(t) for t in fresh))
        if self.format == "csv":
            return ([self._encoder.encode_many(fresh)] if fresh else []), len(fresh)
        if self.format == "parquet":
            return fresh, len(fresh)
        return [jsonl.encode(t) for t in fresh], len(fresh)

    async def _write_page(self, page: Page, encoded: Awaitable[tuple[list[bytes], int]], *, next_page: int | None = None) -> None:
        chunks, written = await encoded
        assert self._out is not None
        if chunks and self.format == "parquet":
            self._out.add(chunks)  # type: ignore[union-attr, arg-type]
        elif chunks:
            self._out.write(b"".join(chunks))  # type: ignore[union-attr]
        self.count += written
        self.progress.advance(written)
        self._position.page = page.number if next_page is None else next_page
        self._save_checkpoint()

    async def _add_messages(self, ticket: dict[str, Any]) -> None:
        messages = [m async for m in self.client.messages(ticket["id"]).iter(additional_types=ALL_ADDITIONAL_TYPES)]
        downloads = [self._fetch_attachment(ticket["id"], a) for m in messages for a in m.get("attachments") or []]
        if self.options.attachments and downloads:
            await asyncio.gather(*downloads)
        ticket["messages"] = messages

    async def _fetch_attachment(self, ticket_id: int, attachment: dict[str, Any]) -> None:
        source = attachment.get("url") or attachment["id"]
        if self._attachments_dir is None:
            attachment["data"] = b64(await self.client.media.download(source))
            return
        relative = Path(str(ticket_id)) / f"{attachment['id']}-{safe_name(str(attachment.get('name') or 'file'))}"
        target = self._attachments_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        await self.client.media.download(source, target)
        attachment["path"] = self._relative_to_output(target)

    def _relative_to_output(self, target: Path) -> str:
        """Relative to the output's folder when possible, so import finds it by default."""
        try:
            return target.resolve().relative_to(self.path.resolve().parent).as_posix()
        except ValueError:
            return target.resolve().relative_to(self._attachments_dir.resolve()).as_posix()  # type: ignore[union-attr]

    # --- files -------------------------------------------------------------------------

    def _open(self) -> None:
        if self.options.output == "-":
            self._out = StdoutFile()
            return
        if self.format == "parquet":
            from .formats.parquet_format import ParquetOutput

            self._out = ParquetOutput(self.path, partition_by=self.options.partition_by, with_messages=self.options.with_messages)
            return
        fingerprint = self.options.fingerprint(self.format)
        saved = checkpoint.read(self.checkpoint_path) if self.options.resume else None
        if saved is not None:
            if saved.get("fingerprint") != fingerprint:
                differ = sorted(k for k in fingerprint if saved.get("fingerprint", {}).get(k) != fingerprint[k])
                raise ExportConfigError(
                    f"{self.checkpoint_path} belongs to an export with other options ({', '.join(differ)} differ). "
                    "Rerun with the same options, or delete the checkpoint to start over."
                )
            self._out = PartFile(self.path, resume_offset=saved["offset"])
            reader = csv_format.read_ids if self.format == "csv" else jsonl.read_ids
            self.seen = set(reader(self._out.part)) if saved["offset"] else set()
            self.count = len(self.seen)
            self._position = Position(**{**saved["position"], "resumed": True})
            self._segments = [Segment(**s) for s in saved["segments"]]
            self._started_at = saved["started_at"]
            return
        self._out = PartFile(self.path)
        if self.format == "csv":
            self._out.write(self._encoder.header())

    def _save_checkpoint(self, *, force: bool = False) -> None:
        if not isinstance(self._out, PartFile) or self._out.closed:
            return
        now = time.monotonic()
        if not force and now - self._last_checkpoint < CHECKPOINT_EVERY:
            return
        self._last_checkpoint = now
        offset = self._out.sync()
        checkpoint.write_atomic(
            self.checkpoint_path,
            {
                "fingerprint": self.options.fingerprint(self.format),
                "offset": offset,
                "count": self.count,
                "position": {k: v for k, v in asdict(self._position).items() if k != "resumed"},
                "segments": [asdict(s) for s in self._segments],
                "started_at": self._started_at,
            },
        )

    def _write_manifest(self, digest: str) -> Path | None:
        if self.options.output == "-":
            return None
        partitions = getattr(self._out, "partitions", {})
        checkpoint.write_atomic(
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
            },
        )
        return self.manifest_path

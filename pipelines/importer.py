"""Import tickets from JSONL or CSV, exactly once, with attachments and follow-ups.

Two streaming passes over the input: the first checks records, counts them and
collects tag names (so missing tags can be created before any ticket needs them);
the second encodes and sends with bounded concurrency. Every create is journaled
(intent, then result); a create whose answer never came is looked up on the
server before it is ever sent again.
"""

from __future__ import annotations

import asyncio
import csv
import html
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from helpspace_async import (
    AmbiguousCreate,
    HelpSpaceClient,
    HelpSpaceError,
    ServerError,
    ValidationError,
)

from .attachments import (
    MAX_ATTACHMENTS_BYTES,
    MAX_BODY_BYTES,
    UnsafePath,
    b64,
    decoded_size,
    read_attachment,
)
from .formats import csv_format, detect_format, jsonl
from .journal import Journal
from .progress import Progress
from .records import Attachment, Message, Plan, Rejected, from_csv_row, plan
from .sources import converter, detect, singer
from .sources.common import SourceContext
from .sources.generic import load_mapping

REMOTE_IMG = re.compile(r"""(<img\b[^>]*?\bsrc\s*=\s*)(["'])(https?://[^"']+)\2""", re.IGNORECASE)
INLINE_IMG = re.compile(r"""(<img\b[^>]*?\bsrc\s*=\s*)(["'])(?!data:|https?:|cid:|//)([^"']+)\2""", re.IGNORECASE)
LOOKUP_ATTEMPTS = 3
OFF_LOOP_BYTES = 256 * 1024  # encode bigger files in a thread so the loop keeps serving
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
    source_tz: str = "UTC"
    map_path: str | None = None
    status_map: dict[str, str] = field(default_factory=dict)
    include_notes: bool = False
    keep_links: bool = False
    source_token: str | None = None  # for attachment URLs on the old helpdesk; never logged


@dataclass
class ImportSummary:
    records: int = 0
    created: int = 0
    already_done: int = 0
    rejected: int = 0
    ambiguous_resolved: int = 0  # answers lost, ticket found on the server
    follow_ups: int = 0
    notes_skipped: int = 0
    tags_created: list[str] = field(default_factory=list)
    tags_dropped: list[str] = field(default_factory=list)
    would_send: int = 0  # dry run
    elapsed: float = 0.0
    source: str = "helpspace"
    source_detected: bool = False
    unmatched_assignees: set[str] = field(default_factory=set)
    flags: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    by_tag: Counter[str] = field(default_factory=Counter)
    by_assignee: Counter[str] = field(default_factory=Counter)
    downloaded: int = 0

    def report(self) -> str:
        """The dry-run report: what would be created, and what has no target."""
        def top(counter: Counter[str]) -> str:
            return ", ".join(f"{k} {v}" for k, v in counter.most_common(12)) or "none"

        lines = [f"source: {self.source}" + (" (detected; --from to choose)" if self.source_detected else ""),
                 f"by status: {top(self.by_status)}", f"by tag: {top(self.by_tag)}",
                 f"by assignee: {top(self.by_assignee)}"]
        if self.flags:
            lines.append("flagged: " + top(self.flags))
        if self.notes_skipped:
            lines.append(f"internal notes skipped: {self.notes_skipped} (--include-notes to import them)")
        if self.unmatched_assignees:
            lines.append("no matching agent (left unassigned): " + ", ".join(sorted(self.unmatched_assignees)))
        return "\n".join(lines)

    def line(self) -> str:
        parts = [f"created {self.created:,}", f"already done {self.already_done:,}", f"rejected {self.rejected:,}",
                 f"ambiguous resolved {self.ambiguous_resolved:,}"]
        if self.follow_ups:
            parts.append(f"follow-up messages {self.follow_ups:,}")
        if self.notes_skipped:
            parts.append(f"internal notes skipped {self.notes_skipped:,}")
        if self.tags_created:
            parts.append(f"tags created: {', '.join(self.tags_created)}")
        if self.tags_dropped:
            parts.append(f"tags that HelpSpace will drop (missing, --no-create-tags): {', '.join(self.tags_dropped)}")
        if self.downloaded:
            parts.append(f"attachments downloaded from the source {self.downloaded:,}")
        if self.unmatched_assignees:
            parts.append(f"no agent for {', '.join(sorted(self.unmatched_assignees))} (left unassigned)")
        for flag, count in self.flags.most_common():
            parts.append(f"{flag}: {count}")
        return " · ".join(parts)


class ImportAborted(Exception):
    """Input that can't be read at all (missing file, unknown format)."""


class Importer:
    """Composes the client with an input reader, a journal and a rejects file."""

    def __init__(self, client: HelpSpaceClient | None, options: ImportOptions) -> None:
        self.client = client
        self.options = options
        self.input = Path(options.input)
        if not self.input.is_file():
            raise ImportAborted(f"input file {self.input} not found")
        try:
            self.format = detect_format(options.input, options.format)
        except ValueError as exc:
            raise ImportAborted(str(exc)) from None
        self.base_dir = Path(options.attachments_dir) if options.attachments_dir else self.input.parent
        self.state_path = Path(options.state) if options.state else self.input.with_name(self.input.name + ".state.jsonl")
        self.rejects_path = Path(options.rejects) if options.rejects else self.input.with_name(self.input.name + ".rejects.jsonl")
        self.summary = ImportSummary()
        self.progress = Progress("tickets", enabled=options.progress)
        self.journal: Journal | None = None
        self._rejects_fh: Any = None
        self._lookup_lock = asyncio.Lock()
        self._agents: dict[str, int] | None = None
        self._agents_lock = asyncio.Lock()
        self._source_session: Any = None
        self.source = options.source or self._detect()
        self.summary.source, self.summary.source_detected = self.source, options.source is None
        mapping = None
        if self.source == "generic":
            if not options.map_path:
                raise ImportAborted("--from generic needs --map MAPPING (see samples/sources/generic-mapping.json)")
            try:
                mapping = load_mapping(options.map_path)
            except (OSError, ValueError, Rejected) as exc:
                raise ImportAborted(f"mapping {options.map_path}: {exc}") from None
        self.context = SourceContext(source_tz=options.source_tz, status_map=options.status_map,
                                     include_notes=options.include_notes, mapping=mapping)
        self._convert = converter(self.source, self.format)
        self._singer: singer.SingerIndex | None = None

    def _detect(self) -> str:
        """The source, from the first record that parses."""
        if self.format == "csv":
            for _, row in csv_format.read_rows(self.input):
                return detect(row, "csv")
            return "helpspace"
        first: list[Any] = []
        for _, raw in jsonl.read_lines(self.input):
            try:
                first.append(orjson.loads(raw))
            except orjson.JSONDecodeError:
                continue
            if not singer.is_singer(first[0]):
                return detect(first[0], "jsonl")
            if len(first) >= 500:
                break
        if first and singer.is_singer(first[0]):
            return singer.detect(first) or "helpspace"
        return "helpspace"

    # --- reading ------------------------------------------------------------------------

    def records(self) -> Iterator[tuple[int, dict[str, Any] | None, Any]]:
        """(line number, record or None, raw text or error) for every input record, streamed."""
        count = 0
        if self.format == "csv":
            rows = csv_format.read_rows(self.input)
            while True:
                try:
                    line, row = next(rows)
                except StopIteration:
                    return
                except (UnicodeDecodeError, csv.Error, ValueError) as exc:
                    # the csv module can't resynchronise after this; say where it stopped
                    yield -1, None, (f"the CSV can't be read past this point: {exc}", None)
                    return
                if self.options.limit is not None and count >= self.options.limit:
                    return
                count += 1
                if None in row:
                    surplus = row.pop(None)  # type: ignore[call-overload]
                    yield line, None, ("this row has more cells than the header has columns", {**row, "(surplus cells)": surplus})
                    continue
                try:
                    yield line, self._converted(row) if self._convert else from_csv_row(row), row
                except Rejected as exc:
                    yield line, None, (exc.reason, row)
        else:
            for line, raw in jsonl.read_lines(self.input):
                if self.options.limit is not None and count >= self.options.limit:
                    return
                try:
                    record = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    count += 1
                    yield line, None, (f"not valid JSON ({exc})", raw.decode("utf-8", "replace")[:10_000])
                    continue
                if self._singer is not None:
                    record = self._singer.parent(record) if isinstance(record, dict) else record
                    if record is None:
                        continue  # schema, state, children and users: joined into their parents
                count += 1
                try:
                    yield line, self._converted(record) if self._convert else record, record
                except Rejected as exc:
                    yield line, None, (exc.reason, record)

    def _converted(self, raw: Any) -> dict[str, Any]:
        """One source record mapped by the adapter; any failure is this record's rejection."""
        assert self._convert is not None
        if not isinstance(raw, dict):
            raise Rejected("a record must be a JSON object")
        try:
            return self._convert(raw, self.context)
        except Rejected:
            raise
        except Exception as exc:  # a shape the adapter did not expect
            raise Rejected(f"not a {self.source} record this importer understands: {type(exc).__name__}: {exc}") from None

    # --- the run ------------------------------------------------------------------------

    async def run(self) -> ImportSummary:
        started = time.monotonic()
        await asyncio.to_thread(self._index_streams)
        tags, total = await asyncio.to_thread(self._survey)
        self.progress.start(total, "import" if not self.options.dry_run else "dry run")
        self._rejects_part = self.rejects_path.with_name(self.rejects_path.name + ".part")
        self._rejects_fh = open(self._rejects_part, "wb")
        try:
            if not self.options.dry_run:
                self.journal = Journal(self.state_path)
                await self._ensure_tags(tags)
            await self._send_all()
        finally:
            self.progress.close()
            self._rejects_fh.close()
            if self.summary.rejected:
                self._rejects_part.replace(self.rejects_path)
            else:
                self._rejects_part.unlink(missing_ok=True)
                self.rejects_path.unlink(missing_ok=True)
            if self.journal:
                self.journal.close()
            if self._source_session is not None:
                await self._source_session.close()
            if self._singer is not None:
                self._singer.close()
            self.summary.elapsed = time.monotonic() - started
        return self.summary

    def _index_streams(self) -> None:
        """Singer/Airbyte output: index child streams and users so parents can be joined."""
        if self.format != "jsonl" or self.source not in singer.STREAMS:
            return
        index: singer.SingerIndex | None = None
        for _, raw in jsonl.read_lines(self.input):
            try:
                message = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if index is None:
                if not singer.is_singer(message):
                    return
                index = singer.SingerIndex(self.source)
            if isinstance(message, dict):
                index.add(message)
        if index is not None:
            index.finish_indexing()
            self._singer = index
            self.context.lookup_user = index.user

    def _survey(self) -> tuple[set[str], int]:
        """First pass: count records and collect the tags they use."""
        tags: set[str] = set()
        total = 0
        for _, record, _ in self.records():
            total += 1
            if isinstance(record, dict) and isinstance(record.get("tags"), list):
                tags.update(t for t in record["tags"] if isinstance(t, str))
        return tags, total

    async def _ensure_tags(self, wanted: set[str]) -> None:
        """HelpSpace drops tags that don't exist: create them first (or report them)."""
        if not wanted or self.client is None:
            return
        existing = {t["name"] async for t in self.client.tags.iter()}
        missing = sorted(wanted - existing)
        if not self.options.create_tags:
            self.summary.tags_dropped = missing
            return
        for name in missing:
            try:
                await self.client.tags.create(name)
            except ValidationError:
                pass  # created meanwhile by someone else: fine
            self.summary.tags_created.append(name)

    async def _send_all(self) -> None:
        concurrency = self.client.concurrency if self.client else 4
        queue: asyncio.Queue[tuple[int, dict[str, Any] | None, Any] | None] = asyncio.Queue(maxsize=concurrency * 2)

        def batch(iterator: Iterator[Any]) -> list[Any]:
            return list(islice(iterator, READ_BATCH))

        async def produce() -> None:
            iterator = self.records()
            while items := await asyncio.to_thread(batch, iterator):  # file reads stay off the loop
                for item in items:
                    await queue.put(item)
            for _ in range(concurrency):
                await queue.put(None)

        async def work() -> None:
            while (item := await queue.get()) is not None:
                await self._one(*item)

        tasks = [asyncio.ensure_future(produce())] + [asyncio.ensure_future(work()) for _ in range(concurrency)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _one(self, line: int, record: dict[str, Any] | None, raw: Any) -> None:
        self.summary.records += 1
        try:
            if record is None:
                reason, original = raw
                raise Rejected(reason)
            the_plan = plan(record, notify=self.options.notify)
            if self.journal and self._all_done(the_plan):
                self.summary.already_done += 1
                return
            self._count(the_plan)
            if the_plan.assignee_email and self.client is not None and not self.options.dry_run:
                agent = await self._agent_id(the_plan.assignee_email)
                if agent is not None:
                    the_plan.ticket["assignee"] = {"id": agent}
            body = await self._encode(the_plan.ticket, the_plan.message)
            body["message"], overflow = self.split_attachments(body["message"])
            follow_bodies = list(overflow)
            for m in the_plan.follow_ups:
                first, more = self.split_attachments(await self._encode_message(m))
                follow_bodies += [first, *more]
            self.summary.notes_skipped += the_plan.skipped_notes
            if self.options.dry_run:
                self.summary.would_send += 1 + len(follow_bodies)
                return
            await self._create(the_plan, body, follow_bodies)
        except Rejected as exc:
            original = record if record is not None else raw[1]
            self._reject(line, record, exc.reason, exc.field_errors, original)
        except ValidationError as exc:
            self._reject(line, record, f"the server refused it: {exc.message}", exc.field_errors, record)
        except HelpSpaceError:
            raise  # the API or the network failed, not this record: stop, the journal has it
        except Exception as exc:  # a record we could not handle must not stop the others
            self._reject(line, record, f"could not process this record: {type(exc).__name__}: {exc}", {}, record)
        finally:
            self.progress.advance()

    def _count(self, the_plan: Plan) -> None:
        s = self.summary
        s.by_status[the_plan.ticket.get("status", "open")] += 1
        s.by_tag.update(the_plan.ticket.get("tags") or [])
        if the_plan.assignee_email:
            s.by_assignee[the_plan.assignee_email] += 1
        s.flags.update(the_plan.flags)

    async def _agent_id(self, email: str) -> int | None:
        """The HelpSpace agent with this email (agents are read once); None leaves it unassigned."""
        assert self.client is not None
        async with self._agents_lock:
            if self._agents is None:
                body = await self.client.request("GET", "/api/v1/agents")
                self._agents = {str(a.get("email", "")).lower(): a["id"] for a in (body or {}).get("data", [])}
        found = self._agents.get(email.lower())
        if found is None:
            self.summary.unmatched_assignees.add(email)
        return found

    def _all_done(self, the_plan: Plan) -> bool:
        assert self.journal is not None
        parts = self.journal.parts.get(the_plan.key, len(the_plan.follow_ups))
        keys = [the_plan.key] + [f"{the_plan.key}#m{i}" for i in range(1, parts + 1)]
        return all(k in self.journal.done for k in keys)

    def _reject(self, line: int, record: Any, reason: str, field_errors: dict[str, list[str]], original: Any) -> None:
        self.summary.rejected += 1
        key = None
        if isinstance(record, dict):
            try:
                key = plan(record).key
            except Rejected:
                key = None
        entry = {"line": line, "key": key, "reason": reason, "field_errors": field_errors, "record": original}
        self._rejects_fh.write(orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS) + b"\n")
        self._rejects_fh.flush()

    # --- encoding -----------------------------------------------------------------------

    async def _encode(self, ticket: dict[str, Any], message: Message) -> dict[str, Any]:
        return {**ticket, "message": await self._encode_message(message, "message")}

    @staticmethod
    def split_attachments(message: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Keep what fits in 5 MB on the message; the rest follows in messages of its own."""
        groups: list[list[dict[str, Any]]] = [[]]
        size = 0
        for att in message.get("attachments") or []:
            n = decoded_size(att["data"])
            if groups[-1] and size + n > MAX_ATTACHMENTS_BYTES:
                groups.append([])
                size = 0
            groups[-1].append(att)
            size += n
        if len(groups) == 1:
            return message, []
        first = {**message, "attachments": groups[0]}
        rest = [{"body": f"<p>(attachments continued, {i + 2} of {len(groups)})</p>", "attachments": g,
                 **({"created_at": message["created_at"]} if message.get("created_at") else {})}
                for i, g in enumerate(groups[1:])]
        return first, rest

    async def _encode_message(self, message: Message, where: str = "message") -> dict[str, Any]:
        body = await self._inline_images(message.body, where)
        keep = [a for a in message.attachments if a.url and self.options.keep_links]
        if keep:  # --keep-links: the files stay on the old helpdesk, linked from the message
            body += "".join(f'<p>Attachment: <a href="{html.escape(a.url or "")}">{html.escape(a.name)}</a></p>' for a in keep)
        if len(body.encode("utf-8")) > MAX_BODY_BYTES:
            raise Rejected(f"{where}.body is over 5 MB (with inline images)", {f"{where}.body": ["over 5 MB"]})
        sending = [a for a in message.attachments if a not in keep]
        attachments = [await self._encode_attachment(a, f"{where}.attachments.{i}") for i, a in enumerate(sending)]
        for i, a in enumerate(attachments):
            if decoded_size(a["data"]) > MAX_ATTACHMENTS_BYTES:
                raise Rejected(f"{a['name']!r} alone is over HelpSpace's 5 MB per message; it can't be imported",
                               {f"{where}.attachments.{i}": ["over 5 MB"]})
        encoded: dict[str, Any] = {"body": body}
        if attachments:
            encoded["attachments"] = attachments
        if message.created_at:
            encoded["created_at"] = message.created_at
        if message.type != "external":
            encoded["type"] = message.type
        return encoded

    async def _encode_attachment(self, att: Attachment, where: str) -> dict[str, Any]:
        if att.data:
            return {"name": att.name, "mime_type": att.mime_type or "application/octet-stream", "data": att.data}
        if att.url:
            data, mime = await self._download(att.url, att.name, where)
            return {"name": att.name, "mime_type": att.mime_type or mime, "data": await self._b64(data)}
        data, mime = await self._read_file(att.path or "", where)
        return {"name": att.name, "mime_type": att.mime_type or mime, "data": await self._b64(data)}

    async def _read_file(self, relative: str, where: str) -> tuple[bytes, str]:
        try:
            return await asyncio.to_thread(read_attachment, self.base_dir, relative)
        except UnsafePath as exc:
            raise Rejected(str(exc), {where: ["path outside the attachments folder"]}) from None
        except OSError as exc:
            raise Rejected(f"attachment {relative!r} can't be read: {exc.strerror or exc}", {where: ["unreadable"]}) from None

    @staticmethod
    async def _b64(data: bytes) -> str:
        return await asyncio.to_thread(b64, data) if len(data) > OFF_LOOP_BYTES else b64(data)

    async def _download(self, url: str, name: str, where: str) -> tuple[bytes, str]:
        """A file from the old helpdesk, fetched now (its links expire); failure rejects the record."""
        import aiohttp

        if self._source_session is None:
            headers = {"Authorization": f"Bearer {self.options.source_token}"} if self.options.source_token else {}
            self._source_session = aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=120))
        last_error = ""
        for attempt in range(3):
            try:
                async with self._source_session.get(url) as resp:
                    if resp.status == 200:
                        data = await resp.read()
                        self.summary.downloaded += 1
                        mime = resp.headers.get("Content-Type", "application/octet-stream").split(";")[0]
                        return data, mime
                    last_error = f"HTTP {resp.status}"
                    if resp.status < 500 and resp.status != 429:
                        break
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                last_error = type(exc).__name__
            await asyncio.sleep(0.2 * (attempt + 1))
        raise Rejected(f"{name!r} could not be downloaded from the source ({last_error}); its link may have expired: "
                       "export again from the source (or pass --source-token) and rerun", {where: [last_error]})

    async def _inline_images(self, body: str, where: str) -> str:
        """`<img src=...>` -> a base64 data URL: relative files from the attachments folder, and
        (for other helpdesks' exports) images still hosted on the old helpdesk."""
        if self.source != "helpspace" and not self.options.keep_links:
            body = await self._inline_remote(body, where)
        matches = list(INLINE_IMG.finditer(body))
        if not matches:
            return body
        out, last = [], 0
        for m in matches:
            data, mime = await self._read_file(m.group(3), f"{where}.body")
            out += [body[last:m.start()], f"{m.group(1)}{m.group(2)}data:{mime};base64,{await self._b64(data)}{m.group(2)}"]
            last = m.end()
        out.append(body[last:])
        return "".join(out)

    async def _inline_remote(self, body: str, where: str) -> str:
        matches = list(REMOTE_IMG.finditer(body))
        out, last = [], 0
        for m in matches:
            data, mime = await self._download(html.unescape(m.group(3)), "inline image", f"{where}.body")
            out += [body[last:m.start()], f"{m.group(1)}{m.group(2)}data:{mime};base64,{await self._b64(data)}{m.group(2)}"]
            last = m.end()
        out.append(body[last:])
        return "".join(out)

    # --- exactly once -------------------------------------------------------------------

    async def _create(self, the_plan: Plan, body: dict[str, Any], follow_bodies: list[dict[str, Any]]) -> None:
        assert self.journal is not None and self.client is not None
        key = the_plan.key
        ticket_id = self.journal.done.get(key)
        if ticket_id is None:
            if key in self.journal.intents:  # a previous run sent it and never heard back
                ticket_id = await self._find(the_plan, self.journal.intents[key])
                if ticket_id is not None:
                    self.summary.ambiguous_resolved += 1
            if ticket_id is None:
                ticket_id = await self._create_ticket(the_plan, body)
            await self.journal.created(key, ticket_id, parts=len(follow_bodies))
        else:
            self.summary.already_done += 1
        for index, message in enumerate(follow_bodies, start=1):
            await self._follow_up(f"{key}#m{index}", ticket_id, message)

    async def _create_ticket(self, the_plan: Plan, body: dict[str, Any]) -> int:
        assert self.journal is not None and self.client is not None
        for _ in range(LOOKUP_ATTEMPTS):
            await self.journal.intend(the_plan.key)
            try:
                created = await self.client.tickets.create(body)
                self.summary.created += 1
                return created["id"]
            except (AmbiguousCreate, ServerError) as exc:
                if isinstance(exc, ServerError) and exc.status == 503:
                    raise
                found = await self._find(the_plan, self.journal.intents[the_plan.key])
                if found is not None:
                    self.summary.ambiguous_resolved += 1
                    return found
        raise Rejected(f"the server never confirmed the create after {LOOKUP_ATTEMPTS} tries; rerun to try again")

    async def _find(self, the_plan: Plan, since: float) -> int | None:
        """The ticket a lost create may have made: same subject, sender, creation time, not claimed."""
        assert self.client is not None and self.journal is not None
        created_at = the_plan.ticket.get("created_at")
        day = (datetime.fromisoformat(created_at).date() if created_at else datetime.fromtimestamp(since).date())
        window = f"{day - timedelta(days=1)}/{day + timedelta(days=1)}"
        async with self._lookup_lock:  # two identical records must not claim one ticket
            claimed = self.journal.claimed_ids
            async for ticket in self.client.tickets.iter(subject=[the_plan.subject], contacts=[the_plan.email], created_between=window):
                if ticket["id"] in claimed or ticket["subject"] != the_plan.subject:
                    continue
                if ticket["from_contact"].get("value", "").lower() != the_plan.email.lower():
                    continue
                if created_at and _same_instant(ticket["created_at"], created_at) is False:
                    continue
                if not created_at and _epoch(ticket["created_at"]) < since - 120:
                    continue
                return ticket["id"]
        return None

    async def _follow_up(self, key: str, ticket_id: int, message: dict[str, Any]) -> None:
        assert self.journal is not None and self.client is not None
        if key in self.journal.done:
            return
        if key in self.journal.intents and await self._find_message(ticket_id, message):
            await self.journal.created(key, ticket_id)
            return
        await self.journal.intend(key)
        try:
            await self.client.messages(ticket_id).create(message)
        except AmbiguousCreate:
            if not await self._find_message(ticket_id, message):
                await self.client.messages(ticket_id).create(message)
        self.summary.follow_ups += 1
        await self.journal.created(key, ticket_id)

    async def _find_message(self, ticket_id: int, message: dict[str, Any]) -> bool:
        assert self.client is not None
        async for m in self.client.messages(ticket_id).iter(additional_types=["internal"]):
            if m.get("body") == message["body"] and (not message.get("created_at") or _same_instant(m["created_at"], message["created_at"])):
                return True
        return False


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _same_instant(a: str, b: str) -> bool:
    return abs(_epoch(a) - _epoch(b)) < 1


__all__ = ["ImportOptions", "ImportSummary", "Importer", "ImportAborted"]

"""What `--with-messages` and `--attachments` add to a ticket before it is written.

Nothing the server sends names a file unchecked: attachment ids must be numbers, names
are cut by bytes, the path is checked to stay inside DIR before anything is written,
and an attachment listed twice in a ticket is saved once. What can't be saved is
reported (and the run ends with exit 3), never silently dropped.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from helpspace_async import BadResponse, HelpSpaceClient, ResponseTooLarge, UnsafeURL
from helpspace_async.resources.messages import ALL_ADDITIONAL_TYPES

from ..attachments import b64, resolve_inside, safe_name
from ..boundary import attachment_problem
from ..errors import AttachmentTooLarge, UnsafePath
from .reuse import PreviousSnapshot

EMBED_LIMIT = 25 * 1024 * 1024  # one embedded attachment; HelpSpace takes 5 MB a message
VERIFY_ATTEMPTS = 2  # downloads of one attachment before bytes that aren't the announced file are reported


class NotTheFile(Exception):
    """Downloaded bytes that are not the announced attachment (size, or a page where a file was due)."""


class Enricher:
    """Adds each ticket's messages (all types) and, if asked, its attachments."""

    def __init__(self, client: HelpSpaceClient, *, attachments: str | None, output: Path,
                 embed_limit: int = EMBED_LIMIT) -> None:
        self.client = client
        self.embed = attachments == "embed"
        self.folder = None if attachments in (None, "embed") else Path(attachments)
        self.output = output
        self.embed_limit = embed_limit
        self.problems: list[str] = []
        self.previous: PreviousSnapshot | None = None  # --reuse: copy what didn't change
        self.reused = self.fetched = 0
        self.verified = 0  # attachments whose bytes matched what the API announced

    async def add_messages(self, ticket: dict[str, Any]) -> None:
        if self.previous is not None:
            copied = self.previous.messages_if_unchanged(ticket)
            if copied is not None:
                ticket["messages"] = copied
                self.reused += 1
                return
        self.fetched += 1
        listed = [m async for m in self.client.messages(ticket["id"]).iter(additional_types=ALL_ADDITIONAL_TYPES)]
        messages = []
        for m in listed:  # the boundary: a message is an object, its attachments a list of objects
            attachments = m.get("attachments") if isinstance(m, dict) else None
            if not isinstance(m, dict) or not (attachments is None or isinstance(attachments, list)) \
                    or not all(isinstance(a, dict) for a in attachments or []):
                self.problems.append(f"ticket {ticket['id']}: a message of the wrong shape was left out "
                                     f"({str(m)[:80]!r})")
                continue
            messages.append(m)
        if self.embed or self.folder is not None:
            saved: dict[int, asyncio.Future[str]] = {}  # attachment id -> its path: listed twice, saved once
            await asyncio.gather(*(self._attachment(ticket["id"], a, saved)
                                   for m in messages for a in m.get("attachments") or []))
        ticket["messages"] = messages

    async def _attachment(self, ticket_id: int, attachment: dict[str, Any], saved: dict[int, asyncio.Future[str]]) -> None:
        att_id = attachment.get("id")
        if type(att_id) is not int:
            return self._skip(ticket_id, attachment, f"its id {str(att_id)[:80]!r} is not a number")
        source = attachment.get("url") or att_id
        try:
            if self.folder is None:
                body = await self._verified(attachment, lambda: self.client.media.read(source, max_bytes=self.embed_limit),
                                            lambda b: (len(b), b[:4096]))
                attachment["data"] = b64(body)
                return None
            if att_id not in saved:
                saved[att_id] = asyncio.ensure_future(self._save(ticket_id, att_id, attachment, source))
            attachment["path"] = await saved[att_id]
        except (UnsafeURL, UnsafePath, BadResponse, NotTheFile) as exc:
            self._skip(ticket_id, attachment, str(exc))
        except ResponseTooLarge:
            raise AttachmentTooLarge(
                f"ticket {ticket_id}: attachment {str(attachment.get('name'))[:100]!r} is over "
                f"{self.embed_limit / 2**20:.0f} MB, too big to embed in the file. Save attachments as files with "
                "--attachments DIR (streamed to disk, no size limit), or raise --max-embed-mb; then --resume."
            ) from None
        return None

    async def _save(self, ticket_id: int, att_id: int, attachment: dict[str, Any], source: str | int) -> str:
        assert self.folder is not None
        name = f"{att_id}-{safe_name(str(attachment.get('name') or 'file'))}"
        target = resolve_inside(self.folder, f"{ticket_id}/{name}")  # checked before anything is written
        target.parent.mkdir(parents=True, exist_ok=True)

        def measured(path: Path) -> tuple[int, bytes]:
            with open(path, "rb") as fh:
                return os.fstat(fh.fileno()).st_size, fh.read(4096)

        try:
            await self._verified(attachment, lambda: self.client.media.save(source, target), measured)
        except NotTheFile:
            target.unlink(missing_ok=True)  # never kept as if it were the file
            raise
        return self._relative_to_output(target)

    async def _verified(self, attachment: dict[str, Any], fetch: Any, measure: Any) -> Any:
        """Download, and check the bytes are the announced file; once more if not, then NotTheFile."""
        problem = None
        for _ in range(VERIFY_ATTEMPTS):
            got = await fetch()
            problem = attachment_problem(attachment, *measure(got))
            if problem is None:
                self.verified += 1
                return got
        raise NotTheFile(problem or "")

    def _skip(self, ticket_id: int, attachment: dict[str, Any], reason: str) -> None:
        attachment["skipped"] = reason
        self.problems.append(f"ticket {ticket_id}: attachment {str(attachment.get('name'))[:100]!r} not saved: {reason}")

    def _relative_to_output(self, target: Path) -> str:
        """Relative to the output's folder when possible, so import finds it by default."""
        assert self.folder is not None
        try:
            return target.resolve().relative_to(self.output.resolve().parent).as_posix()
        except ValueError:
            return target.resolve().relative_to(self.folder.resolve()).as_posix()

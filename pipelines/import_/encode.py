"""A planned message -> the JSON HelpSpace takes: files read or downloaded and base64-encoded,
inline images turned into data URLs, attachments over 5 MB split across follow-ups."""

from __future__ import annotations

import asyncio
import html
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn

import orjson

from helpspace_async import APIError, ConnectFailed, HelpSpaceError

from ..attachments import MAX_ATTACHMENTS_BYTES, MAX_BODY_BYTES, b64, decoded_size, read_attachment
from ..errors import Rejected, UnsafePath
from ..fetch import Downloaded, SourceFetcher, expires
from ..sources.api import LinkRefresher
from .records import Attachment, Message

REMOTE_IMG = re.compile(r"""(<img\b[^>]*?\bsrc\s*=\s*)(["'])(https?://[^"']+)\2""", re.IGNORECASE)
INLINE_IMG = re.compile(r"""(<img\b[^>]*?\bsrc\s*=\s*)(["'])(?!data:|https?:|cid:|//)([^"']+)\2""", re.IGNORECASE)
EXPIRED_STATUSES = (400, 401, 403)  # what S3 and its kin answer a pre-signed link past its expiry
OFF_LOOP_BYTES = 256 * 1024  # encode bigger files in a thread so the loop keeps serving


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


class Encoder:
    """Encodes messages; files come from `base_dir` or, for other helpdesks, from `fetcher`."""

    def __init__(self, base_dir: Path, fetcher: SourceFetcher, *, keep_links: bool = False,
                 download_images: bool = False, refresher: LinkRefresher | None = None) -> None:
        self.base_dir = base_dir
        self.fetcher = fetcher
        self.keep_links = keep_links
        self.download_images = download_images and not keep_links  # images still on the old helpdesk
        self.counts: Counter[str] = Counter()  # where each attachment came from, for the report
        self.expiring_links: list[str] = []  # kept links that are signed to expire (shown without the query)
        self.refresher = refresher  # renews expired pre-signed links by asking the source again

    async def messages(self, first: Message, follow_ups: list[Message], source_ticket: str | None = None
                       ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The create's `message` and every follow-up body to send after it, split at 5 MB.
        `source_ticket`: the ticket's id on the old helpdesk, to renew expired links."""
        message, overflow = split_attachments(await self.message(first, "message", source_ticket))
        later = list(overflow)
        for m in follow_ups:
            head, more = split_attachments(await self.message(m, "message", source_ticket))
            later += [head, *more]
        return message, later

    async def message(self, message: Message, where: str = "message", source_ticket: str | None = None) -> dict[str, Any]:
        body = await self._inline_images(message.body, where)
        keep = [a for a in message.attachments if a.url and self.keep_links]
        if keep:  # --keep-links: the files stay on the old helpdesk, linked from the message
            self.counts["kept as links"] += len(keep)
            self.expiring_links += [a.url.split("?", 1)[0] for a in keep if a.url and expires(a.url)]
            body += "".join(f'<p>Attachment: <a href="{html.escape(a.url or "")}">{html.escape(a.name)}</a></p>' for a in keep)
        if len(body.encode("utf-8")) > MAX_BODY_BYTES:
            raise Rejected(f"{where}.body is over 5 MB (with inline images)", {f"{where}.body": ["over 5 MB"]})
        sending = [a for a in message.attachments if a not in keep]
        attachments = [await self._attachment(a, f"{where}.attachments.{i}", source_ticket) for i, a in enumerate(sending)]
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

    async def _attachment(self, att: Attachment, where: str, source_ticket: str | None = None) -> dict[str, Any]:
        self.counts["inline base64" if att.data else "from the source" if att.url else "from files"] += 1
        if att.data:
            return {"name": att.name, "mime_type": att.mime_type or "application/octet-stream", "data": att.data}
        if att.url:
            got = await self._download(att.url, att.name, where, self._renewal(att, source_ticket))
            if att.url_wraps_base64:  # {"data": "<base64>"}: the file is already base64 inside
                return {"name": att.name, "mime_type": att.mime_type or "application/octet-stream",
                        "data": _unwrap_base64(got.data, att.name, where)}
            return {"name": att.name, "mime_type": att.mime_type or got.mime_type, "data": await _b64(got.data)}
        data, mime = await self._read_file(att.path or "", where)
        return {"name": att.name, "mime_type": att.mime_type or mime, "data": await _b64(data)}

    async def _read_file(self, relative: str, where: str) -> tuple[bytes, str]:
        try:
            return await asyncio.to_thread(read_attachment, self.base_dir, relative)
        except UnsafePath as exc:
            raise Rejected(str(exc), {where: ["path outside the attachments folder"]}) from None
        except OSError as exc:
            raise Rejected(f"attachment {relative!r} can't be read: {exc.strerror or exc}", {where: ["unreadable"]}) from None

    def _renewal(self, att: Attachment, source_ticket: str | None) -> Callable[[], Awaitable[str | None]] | None:
        """How to get a freshly signed link for `att`, when the source can give one."""
        refresher = self.refresher
        if refresher is None or not source_ticket or not att.source_id or not att.url or not expires(att.url):
            return None
        ticket, attachment = source_ticket, att.source_id
        return lambda: refresher.fresh_url(ticket, attachment)

    async def _download(self, url: str, name: str, where: str,
                        renew: Callable[[], Awaitable[str | None]] | None = None) -> Downloaded:
        """A file from the old helpdesk, fetched now (its links expire); an expired pre-signed
        link is renewed once through the source's API; failure rejects the record."""
        try:
            return await self.fetcher.get(url)
        except APIError as exc:
            if renew is None or exc.status not in EXPIRED_STATUSES:
                return self._failed(url, name, where, exc)
            fresh = await renew()
            if not fresh or fresh == url:
                return self._failed(url, name, where, exc)
            self.counts["expired links renewed from the source"] += 1
            return await self._download(fresh, name, where)
        except HelpSpaceError as exc:
            return self._failed(url, name, where, exc)

    @staticmethod
    def _failed(url: str, name: str, where: str, exc: HelpSpaceError) -> NoReturn:
        shown = url.split("?", 1)[0]  # a pre-signed query string is a credential: never printed
        cause, advice = download_failure(exc)
        raise Rejected(f"{name!r} could not be downloaded from {shown}: {cause}; {advice}", {where: [cause]})

    async def _inline_images(self, body: str, where: str) -> str:
        """`<img src=...>` -> a base64 data URL: relative files from the attachments folder, and
        (for other helpdesks' exports) images still hosted on the old helpdesk."""
        if self.download_images:
            body = await self._replace(body, REMOTE_IMG, where, remote=True)
        return await self._replace(body, INLINE_IMG, where, remote=False)

    async def _replace(self, body: str, pattern: re.Pattern[str], where: str, *, remote: bool) -> str:
        matches = list(pattern.finditer(body))
        if not matches:
            return body
        out, last = [], 0
        for m in matches:
            if remote:
                got = await self._download(html.unescape(m.group(3)), "inline image", f"{where}.body")
                data, mime = got.data, got.mime_type
            else:
                data, mime = await self._read_file(m.group(3), f"{where}.body")
            out += [body[last:m.start()], f"{m.group(1)}{m.group(2)}data:{mime};base64,{await _b64(data)}{m.group(2)}"]
            last = m.end()
        out.append(body[last:])
        return "".join(out)


async def _b64(data: bytes) -> str:
    return await asyncio.to_thread(b64, data) if len(data) > OFF_LOOP_BYTES else b64(data)


def download_failure(exc: HelpSpaceError) -> tuple[str, str]:
    """What went wrong fetching a file from the source, and what to do about it."""
    if isinstance(exc, APIError) and exc.status in (401, 403):
        return (f"HTTP {exc.status}", "its link may have expired (pre-signed links last minutes), or it needs the "
                "source's credentials: export again from the source, or pass --source-token/--source-user, and rerun")
    if isinstance(exc, APIError) and exc.status in (404, 410):
        return f"HTTP {exc.status}", "the file is gone from the source; rerun with --keep-links to import the rest"
    if isinstance(exc, ConnectFailed):
        return f"cannot connect ({exc})", "check the host name and the network (DNS), then rerun"
    reason = exc.message if isinstance(exc, APIError) else str(exc)
    return reason, "rerun to try again"


def _unwrap_base64(body: bytes, name: str, where: str) -> str:
    try:
        data = orjson.loads(body).get("data")
    except (orjson.JSONDecodeError, AttributeError):
        data = None
    if not isinstance(data, str):
        raise Rejected(f"{name!r}: the source answered something other than {{\"data\": base64}}", {where: ["not base64 JSON"]})
    return data

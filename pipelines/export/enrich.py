"""What `--with-messages` and `--attachments` add to a ticket before it is written."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from helpspace_async import HelpSpaceClient
from helpspace_async.resources.messages import ALL_ADDITIONAL_TYPES

from ..attachments import b64, safe_name


class Enricher:
    """Adds each ticket's messages (all types) and, if asked, its attachments."""

    def __init__(self, client: HelpSpaceClient, *, attachments: str | None, output: Path) -> None:
        self.client = client
        self.embed = attachments == "embed"
        self.folder = None if attachments in (None, "embed") else Path(attachments)
        self.output = output

    async def add_messages(self, ticket: dict[str, Any]) -> None:
        messages = [m async for m in self.client.messages(ticket["id"]).iter(additional_types=ALL_ADDITIONAL_TYPES)]
        if self.embed or self.folder is not None:
            await asyncio.gather(*(self._attachment(ticket["id"], a) for m in messages for a in m.get("attachments") or []))
        ticket["messages"] = messages

    async def _attachment(self, ticket_id: int, attachment: dict[str, Any]) -> None:
        source = attachment.get("url") or attachment["id"]
        if self.folder is None:
            attachment["data"] = b64(await self.client.media.download(source))  # type: ignore[arg-type]
            return
        relative = Path(str(ticket_id)) / f"{attachment['id']}-{safe_name(str(attachment.get('name') or 'file'))}"
        target = self.folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        await self.client.media.download(source, target)
        attachment["path"] = self._relative_to_output(target)

    def _relative_to_output(self, target: Path) -> str:
        """Relative to the output's folder when possible, so import finds it by default."""
        assert self.folder is not None
        try:
            return target.resolve().relative_to(self.output.resolve().parent).as_posix()
        except ValueError:
            return target.resolve().relative_to(self.folder.resolve()).as_posix()

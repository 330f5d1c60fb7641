"""Attachment downloads, streamed to a file or returned as bytes."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from .. import protocol


class Media:
    """`client.media`: `/api/v1/media/attachment/{id}` or an attachment's `url`."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def _url(self, url_or_id: str | int) -> str:
        if isinstance(url_or_id, int) or str(url_or_id).isdigit():
            return protocol.api_path("media", "attachment", url_or_id)
        return str(url_or_id)

    async def read(self, url_or_id: str | int, *, max_bytes: int | None = None) -> bytes:
        """The file's bytes, held in memory: `max_bytes` bounds them (ResponseTooLarge past it)."""
        buffer = io.BytesIO()
        await self._client.request("GET", self._url(url_or_id), sink=buffer, max_bytes=max_bytes)
        return buffer.getvalue()

    async def save(self, url_or_id: str | int, dest: str | os.PathLike[str]) -> Path:
        """Stream the file to `dest` (via `dest.part`, fsynced, renamed): memory stays flat."""
        dest = Path(dest)
        part = dest.with_name(dest.name + ".part")
        try:
            with open(part, "wb") as fh:
                await self._client.request("GET", self._url(url_or_id), sink=fh)
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        os.replace(part, dest)
        return dest

    async def download(self, url_or_id: str | int, dest: str | os.PathLike[str] | None = None) -> bytes | Path:
        """Bytes of the file, or with `dest` the path it was streamed to (see `read` and `save`)."""
        return await self.read(url_or_id) if dest is None else await self.save(url_or_id, dest)

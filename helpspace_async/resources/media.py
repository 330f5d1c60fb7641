"""Attachment downloads, streamed to a file or returned as bytes."""

from __future__ import annotations

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

    async def download(self, url_or_id: str | int, dest: str | os.PathLike[str] | None = None) -> bytes | Path:
        """Bytes of the file, or with `dest` the path it was streamed to (via `dest.part`)."""
        url = self._url(url_or_id)
        if dest is None:
            import io

            buffer = io.BytesIO()
            await self._client.request("GET", url, sink=buffer)
            return buffer.getvalue()
        dest = Path(dest)
        part = dest.with_name(dest.name + ".part")
        with open(part, "wb") as fh:
            await self._client.request("GET", url, sink=fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, dest)
        return dest

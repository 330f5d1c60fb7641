"""Tags: HelpSpace applies only tags that exist, so migrations create them first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from .. import protocol
from ..paging import Page
from ._listing import Listing


class Tags(Listing):
    """`client.tags`: `/api/v1/tags` (shapes assumed, see API.md)."""

    def __init__(self, client: Any) -> None:
        super().__init__(client, protocol.api_path("tags"))

    def pages(self, *, per_page: int = 50) -> AsyncIterator[Page]:
        """Whole pages of tags, in order."""
        return self._pages({}, per_page=per_page, start_page=1, window=None)

    def iter(self, *, per_page: int = 50) -> AsyncIterator[dict[str, Any]]:
        return self._items(self.pages(per_page=per_page))

    async def create(self, name: str, *, type: str = "ticket", color: str | None = None) -> dict[str, Any]:
        body = {"name": name, "type": type, **({"color": color} if color else {})}
        return protocol.unwrap_object(await self._client.request("POST", self._path, json=body))

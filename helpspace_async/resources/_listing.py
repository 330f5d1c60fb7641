"""What every paged resource shares: fetch one page, iterate pages, iterate items."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from .. import protocol
from ..errors import AmbiguousCreate, BadResponse
from ..paging import Page, ordered_pages

if TYPE_CHECKING:
    from ..client import HelpSpaceClient


class Listing:
    """A paged collection at `path`, read with the client's concurrency."""

    def __init__(self, client: HelpSpaceClient, path: str) -> None:
        self._client = client
        self._path = path

    async def page(self, number: int, *, per_page: int = 50, params: Mapping[str, Any] | str | None = None) -> Page:
        """Fetch one page (1-based); `params` may be a query string encoded once for many pages."""
        paging = protocol.encode_query(protocol.page_params(number, per_page))
        encoded = params if isinstance(params, str) else protocol.encode_query(params or {})
        body = await self._client.request("GET", self._path, params=f"{encoded}&{paging}" if encoded else paging)
        items, meta = protocol.parse_page(body)
        return Page(number, items, meta)

    def _pages(
        self, params: Mapping[str, Any], *, per_page: int, start_page: int, window: int | None
    ) -> AsyncIterator[Page]:
        protocol.page_params(start_page, per_page)  # fail early on a bad per_page

        async def fetch(number: int) -> Page:
            return await self.page(number, per_page=per_page, params=params)

        return ordered_pages(
            fetch, per_page=per_page, start=start_page, window=window or self._client.concurrency * 2
        )

    async def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST a new object; a 2xx that doesn't name what it made is an AmbiguousCreate.

        The server answered, so it probably acted: the caller must look before sending again.
        """
        try:
            answer = await self._client.request("POST", self._path, json=body)
            protocol.created_id(answer, method="POST", path=self._path)
        except BadResponse as exc:
            raise AmbiguousCreate(f"{exc}; it may have been created: look it up before sending again",
                                  method="POST", path=self._path, body=body) from None
        return protocol.unwrap_object(answer)

    async def _items(self, pages: AsyncIterator[Page]) -> AsyncIterator[dict[str, Any]]:
        async for page in pages:
            for item in page.items:
                yield item

"""Tickets: list with filters, get, create, update, delete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from .. import protocol
from ..errors import NotFound
from ..paging import Page
from ._listing import Listing


class Tickets(Listing):
    """`client.tickets`: the `/api/v1/tickets` collection."""

    def __init__(self, client: Any) -> None:
        super().__init__(client, protocol.api_path("tickets"))

    def pages(
        self, *, per_page: int = 50, start_page: int = 1, window: int | None = None, **filters: Any
    ) -> AsyncIterator[Page]:
        """Whole pages in order, with their meta (for checkpoints). Filters as in `iter`."""
        params = protocol.ticket_filter_params(**filters)
        return self._pages(params, per_page=per_page, start_page=start_page, window=window)

    def iter(self, *, per_page: int = 50, **filters: Any) -> AsyncIterator[dict[str, Any]]:
        """Every ticket matching the filters, newest first, in constant memory.

        Filters: status, tags, subject, body, subject_or_body, contacts, assignees,
        teams (lists), created_between, last_contact_between (`(d1, d2)` or `"d1/d2"`).
        """
        return self._items(self.pages(per_page=per_page, **filters))

    async def count(self, **filters: Any) -> int:
        """How many tickets match, from one small page's `meta.total`."""
        page = await self.page(1, per_page=1, params=protocol.ticket_filter_params(**filters))
        return page.meta.total if page.meta else len(page.items)

    async def get(self, ticket_id: int) -> dict[str, Any]:
        return protocol.unwrap_object(await self._client.request("GET", f"{self._path}/{ticket_id}"))

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a ticket with its first message. Never retried blindly: see AmbiguousCreate."""
        return await self._create(body)

    async def update(self, ticket_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        """Change fields; note that `tags` replaces the whole tag list."""
        return protocol.unwrap_object(
            await self._client.request("PATCH", f"{self._path}/{ticket_id}", json=fields)
        )

    async def delete(self, ticket_id: int) -> bool:
        """Soft-delete; True if this call deleted it, False if it was already gone."""
        try:
            await self._client.request("DELETE", f"{self._path}/{ticket_id}")
        except NotFound:
            return False
        return True

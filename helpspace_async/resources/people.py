"""Customers and organizations: the people and companies behind the tickets.

The API's DELETE of a customer removes all their tickets with them, permanently; this
client offers no delete for customers on purpose.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from .. import protocol
from ..paging import Page
from ._listing import Listing


class _Records(Listing):
    """A collection with whole-record CRUD (without delete): list, get, create, update."""

    def pages(self, *, per_page: int = 50, start_page: int = 1) -> AsyncIterator[Page]:
        return self._pages({}, per_page=per_page, start_page=start_page, window=None)

    def iter(self, *, per_page: int = 50) -> AsyncIterator[dict[str, Any]]:
        return self._items(self.pages(per_page=per_page))

    async def get(self, record_id: int) -> dict[str, Any]:
        return protocol.unwrap_object(await self._client.request("GET", f"{self._path}/{record_id}"))

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """A new record; a lost answer is an AmbiguousCreate (look it up before sending again)."""
        return await self._create(body)

    async def update(self, record_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        return protocol.unwrap_object(await self._client.request("PATCH", f"{self._path}/{record_id}", json=fields))


class Customers(_Records):
    """`client.customers`: `/api/v1/customers` (email unique)."""

    def __init__(self, client: Any) -> None:
        super().__init__(client, protocol.api_path("customers"))

    async def avatar(self, customer_id: int) -> dict[str, Any] | None:
        """`{"mime_type", "data"}` (base64), or None when the customer has none."""
        body = await self._client.request("GET", f"{self._path}/{customer_id}/avatar")
        data = body.get("data") if isinstance(body, dict) else None
        return data if isinstance(data, dict) else None

    async def set_avatar(self, customer_id: int, mime_type: str, data: str) -> None:
        await self._client.request("PATCH", f"{self._path}/{customer_id}/avatar",
                                   json={"mime_type": mime_type, "data": data})


class Organizations(_Records):
    """`client.organizations`: `/api/v1/organizations` (name and domain unique)."""

    def __init__(self, client: Any) -> None:
        super().__init__(client, protocol.api_path("organizations"))

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


class Customers(Listing):
    """`client.customers`: `/api/v1/customers`."""

    def __init__(self, client: Any) -> None:
        super().__init__(client, protocol.api_path("customers"))

    def pages(self, *, per_page: int = 50, start_page: int = 1) -> AsyncIterator[Page]:
        return self._pages({}, per_page=per_page, start_page=start_page, window=None)

    def iter(self, *, per_page: int = 50) -> AsyncIterator[dict[str, Any]]:
        return self._items(self.pages(per_page=per_page))

    async def get(self, customer_id: int) -> dict[str, Any]:
        return protocol.unwrap_object(await self._client.request("GET", f"{self._path}/{customer_id}"))

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """A new customer (email unique); a lost answer is an AmbiguousCreate."""
        return await self._create(body)

    async def update(self, customer_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        return protocol.unwrap_object(await self._client.request("PATCH", f"{self._path}/{customer_id}", json=fields))

    async def avatar(self, customer_id: int) -> dict[str, Any] | None:
        """`{"mime_type", "data"}` (base64), or None when the customer has none."""
        body = await self._client.request("GET", f"{self._path}/{customer_id}/avatar")
        data = body.get("data") if isinstance(body, dict) else None
        return data if isinstance(data, dict) else None

    async def set_avatar(self, customer_id: int, mime_type: str, data: str) -> None:
        await self._client.request("PATCH", f"{self._path}/{customer_id}/avatar",
                                   json={"mime_type": mime_type, "data": data})


class Organizations(Listing):
    """`client.organizations`: `/api/v1/organizations` (unique name and domain)."""

    def __init__(self, client: Any) -> None:
        super().__init__(client, protocol.api_path("organizations"))

    def pages(self, *, per_page: int = 50, start_page: int = 1) -> AsyncIterator[Page]:
        return self._pages({}, per_page=per_page, start_page=start_page, window=None)

    def iter(self, *, per_page: int = 50) -> AsyncIterator[dict[str, Any]]:
        return self._items(self.pages(per_page=per_page))

    async def get(self, organization_id: int) -> dict[str, Any]:
        return protocol.unwrap_object(await self._client.request("GET", f"{self._path}/{organization_id}"))

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._create(body)

    async def update(self, organization_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        return protocol.unwrap_object(await self._client.request("PATCH", f"{self._path}/{organization_id}", json=fields))

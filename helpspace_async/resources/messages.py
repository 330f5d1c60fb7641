"""Messages of one ticket."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from .. import protocol
from ..paging import Page
from ._listing import Listing

ALL_ADDITIONAL_TYPES = ("internal", "error", "bounce", "event")


class Messages(Listing):
    """`client.messages(ticket_id)`: `/api/v1/tickets/{id}/messages`."""

    def __init__(self, client: Any, ticket_id: int) -> None:
        super().__init__(client, protocol.api_path("tickets", ticket_id, "messages"))
        self.ticket_id = ticket_id

    def pages(
        self, *, additional_types: Sequence[str] = (), per_page: int = 50, window: int | None = None
    ) -> AsyncIterator[Page]:
        params = {"additional-types": list(additional_types)} if additional_types else {}
        return self._pages(params, per_page=per_page, start_page=1, window=window)

    def iter(
        self, *, additional_types: Sequence[str] = (), per_page: int = 50
    ) -> AsyncIterator[dict[str, Any]]:
        """Messages in the server's order; by default only external, widget and forward."""
        return self._items(self.pages(additional_types=additional_types, per_page=per_page))

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Add a message; a lost or senseless answer is an AmbiguousCreate (look before resending)."""
        return await self._create(body)

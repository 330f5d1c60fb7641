"""HelpSpace as a dlt source: tickets, messages, tags, agents, customers and organizations.

    import dlt
    from pipelines.dlt_source import helpspace_source
    dlt.pipeline(pipeline_name="helpspace", destination="duckdb").run(helpspace_source())

Built on our client (its rate limiter, retries and concurrent ordered pages); each
resource is an async generator that opens a client and yields whole pages, not rows.
Tickets and messages merge on `id`, so a rerun updates rows in place (counts never
double) and tickets deleted since the last full run are deleted from the destination
(their ids are kept in the resource's dlt state). Columns are stable: the documented
objects (channel, from_contact, assignee, team) become `channel__id`-style columns,
timestamps are typed, `tags` and `creator` are JSON, and any field the API adds later
is one JSON column (max_table_nesting=0), never a new child table.
Needs the `dlt` extra: pip install 'helpspace-async[dlt]'.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import dlt

from helpspace_async import HelpSpaceClient, RateLimiter, RetryPolicy
from helpspace_async.resources.messages import ALL_ADDITIONAL_TYPES

from .formats.fields import TICKET_FIELDS

DLT_TYPES = {"integer": "bigint", "string": "text", "status": "text", "timestamp": "timestamp", "json": "json",
             "tags": "json"}


def ticket_columns() -> Any:  # dlt's TTableSchemaColumns
    """Column hints for the tickets table, from the one description of the ticket's fields."""
    columns: dict[str, dict[str, Any]] = {}
    for f in TICKET_FIELDS:
        if f.kind == "object":
            for name, kind in f.sub:
                columns[f"{f.name}__{name}"] = {"data_type": DLT_TYPES[kind], "nullable": True}
        else:
            columns[f.name] = {"data_type": DLT_TYPES[f.kind], "nullable": f.name != "id"}
    columns["deleted"] = {"data_type": "bool", "hard_delete": True, "nullable": True}
    return columns


def flatten(ticket: dict[str, Any]) -> dict[str, Any]:
    """The documented objects as columns of their own; the rest as it is."""
    row = dict(ticket)
    for f in TICKET_FIELDS:
        if f.kind == "object":
            value = row.pop(f.name, None)
            for name, _ in f.sub:
                row[f"{f.name}__{name}"] = value.get(name) if isinstance(value, dict) else None
    return row


def _client(settings: dict[str, Any]) -> HelpSpaceClient:
    limiter = RateLimiter(max_limit=settings.get("max_rate"), max_wait=settings.get("max_wait", 900.0))
    return HelpSpaceClient(settings.get("base_url"), settings.get("token"), settings.get("client_id"),
                           concurrency=settings.get("concurrency", 8), rate_limiter=limiter,
                           retry=RetryPolicy(max_attempts=max(1, settings.get("retries", 8))),
                           timeout=settings.get("timeout", 30.0))


@dlt.source(name="helpspace", max_table_nesting=0)
def helpspace_source(base_url: str | None = None, token: str | None = None, client_id: str | None = None, *,
                     with_messages: bool = False, last_contact_since: str | None = None,
                     concurrency: int = 8, max_rate: int | None = None, max_wait: float = 900.0,
                     timeout: float = 30.0, retries: int = 8) -> Any:
    """Tickets (and their messages), tags and agents. Settings default to HELPSPACE_*.

    `last_contact_since` (YYYY-MM-DD) loads only tickets last contacted since that day (the
    API's `last-contact-between`): cheap, but it misses edits without a contact (tags,
    status, assignment) and deletions; the default full merge sees everything.
    """
    settings = {"base_url": base_url, "token": token, "client_id": client_id, "concurrency": concurrency,
                "max_rate": max_rate, "max_wait": max_wait, "timeout": timeout, "retries": retries}
    filters = {"last_contact_between": f"{date.fromisoformat(last_contact_since)}/9999-12-31"} if last_contact_since else {}
    resources = [tickets_resource(settings, filters), tags_resource(settings), agents_resource(settings),
                 people_resource(settings, "customers"), people_resource(settings, "organizations")]
    if with_messages:
        resources.append(messages_resource(settings, filters))
    return resources


def tickets_resource(settings: dict[str, Any], filters: dict[str, Any]) -> Any:
    full = not filters

    @dlt.resource(name="tickets", primary_key="id", write_disposition="merge", columns=ticket_columns())
    async def tickets() -> AsyncIterator[list[dict[str, Any]]]:
        state = dlt.current.resource_state()
        seen: set[int] = set()
        async with _client(settings) as client:
            async for page in client.tickets.pages(**filters):
                fresh = [t for t in page.items if t.get("id") not in seen]
                seen.update(t["id"] for t in fresh)
                if fresh:
                    yield [flatten(t) for t in fresh]
        if full:  # tickets gone since the last full run: deleted in the destination too
            gone = sorted(set(state.get("ids", [])) - seen)
            if gone:
                yield [{"id": tid, "deleted": True} for tid in gone]
            state["ids"] = sorted(seen)

    return tickets


def messages_resource(settings: dict[str, Any], filters: dict[str, Any]) -> Any:
    @dlt.resource(name="messages", primary_key="id", write_disposition="merge",
                  columns={"ticket_id": {"data_type": "bigint"}, "created_at": {"data_type": "timestamp"},
                           "attachments": {"data_type": "json"}, "from_contact": {"data_type": "json"}})
    async def messages() -> AsyncIterator[list[dict[str, Any]]]:
        async with _client(settings) as client:
            async for page in client.tickets.pages(**filters):  # a page's tickets' messages fetched at once
                found = await asyncio.gather(*(_messages_of(client, t["id"]) for t in page.items))
                rows = [m for ticket_messages in found for m in ticket_messages]
                if rows:
                    yield rows

    return messages


async def _messages_of(client: HelpSpaceClient, ticket_id: int) -> list[dict[str, Any]]:
    return [{**m, "ticket_id": ticket_id} async for m in client.messages(ticket_id).iter(additional_types=ALL_ADDITIONAL_TYPES)]


def tags_resource(settings: dict[str, Any]) -> Any:
    @dlt.resource(name="tags", primary_key="id", write_disposition="merge")
    async def tags() -> AsyncIterator[list[dict[str, Any]]]:
        async with _client(settings) as client:
            async for page in client.tags.pages():
                yield page.items

    return tags


def people_resource(settings: dict[str, Any], kind: str) -> Any:
    """Customers or organizations, merged on id (organizations' tags and members as JSON)."""

    @dlt.resource(name=kind, primary_key="id", write_disposition="merge",
                  columns={"created_at": {"data_type": "timestamp"}, "updated_at": {"data_type": "timestamp"}})
    async def people() -> AsyncIterator[list[dict[str, Any]]]:
        async with _client(settings) as client:
            async for page in getattr(client, kind).pages():
                yield page.items

    return people


def agents_resource(settings: dict[str, Any]) -> Any:
    @dlt.resource(name="agents", primary_key="id", write_disposition="merge")
    async def agents() -> AsyncIterator[list[dict[str, Any]]]:
        async with _client(settings) as client:
            body = await client.request("GET", "/api/v1/agents")
            yield list((body or {}).get("data") or [])

    return agents

"""Each record becomes exactly one ticket, and each follow-up exactly one message.

Stripe's idempotency keys, built on our side since HelpSpace has none: the journal
records the intent (fsynced) before a create goes out and the id after it comes back.
A create whose answer never came (AmbiguousCreate, or a 5xx that may have acted) is
looked up on the server (same subject, sender and creation time, an id no other key
has claimed) before it is ever sent again, now or on the rerun.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from helpspace_async import AmbiguousCreate, HelpSpaceClient, ServerError

from ..errors import CreateUnconfirmed, RunStopped
from .journal import Journal
from .records import Plan
from .summary import ImportSummary

LOOKUP_ATTEMPTS = 3


class ExactlyOnce:
    """Creates planned tickets and their follow-ups through `client`, journaled in `journal`."""

    def __init__(self, client: HelpSpaceClient, journal: Journal, summary: ImportSummary) -> None:
        self.client = client
        self.journal = journal
        self.summary = summary
        self._lookup_lock = asyncio.Lock()  # two identical records must not claim one ticket

    def all_done(self, plan: Plan) -> bool:
        """The ticket and every follow-up it was given (after any split) are in the journal."""
        parts = self.journal.parts.get(plan.key, len(plan.follow_ups))
        keys = [plan.key] + [f"{plan.key}#m{i}" for i in range(1, parts + 1)]
        return all(k in self.journal.done for k in keys)

    async def send(self, plan: Plan, body: dict[str, Any], follow_bodies: list[dict[str, Any]]) -> None:
        key = plan.key
        ticket_id = self.journal.done.get(key)
        if ticket_id is None:
            if key in self.journal.intents:  # a previous run sent it and never heard back
                ticket_id = await self.find_ticket(plan, self.journal.intents[key])
                if ticket_id is not None:
                    self.summary.ambiguous_resolved += 1
            if ticket_id is None:
                ticket_id = await self._create_ticket(plan, body)
                owner = self.journal.owner_of(ticket_id)
                if owner is not None and owner != key:  # nothing more goes to a ticket that is someone else's
                    raise RunStopped(
                        f"the server answered the create of {key} with ticket {ticket_id}, which it had already given "
                        f"to {owner}: two records can't be one ticket, so the run stops before sending anything to "
                        "it (the journal keeps both; report this to HelpSpace, then rerun)")
            await self.journal.created(key, ticket_id, parts=len(follow_bodies))
        else:
            self.summary.already_done += 1
        for index, message in enumerate(follow_bodies, start=1):
            await self._follow_up(f"{key}#m{index}", ticket_id, message)

    async def _create_ticket(self, plan: Plan, body: dict[str, Any]) -> int:
        for _ in range(LOOKUP_ATTEMPTS):
            await self.journal.intend(plan.key)
            try:
                created = await self.client.tickets.create(body)
                self.summary.created += 1
                return int(created["id"])
            except (AmbiguousCreate, ServerError) as exc:
                if isinstance(exc, ServerError) and exc.status == 503:
                    raise
                found = await self.find_ticket(plan, self.journal.intents[plan.key])
                if found is not None:
                    self.summary.ambiguous_resolved += 1
                    return found
        raise CreateUnconfirmed(
            f"the server answered {LOOKUP_ATTEMPTS} creates of {plan.key} without confirming them, and no ticket "
            "was found for them; the journal keeps the intent: rerun the same command to look again before sending"
        )

    async def find_ticket(self, plan: Plan, since: float) -> int | None:
        """The ticket a lost create may have made: same subject, sender, creation time, not claimed."""
        created_at = plan.ticket.get("created_at")
        day = (datetime.fromisoformat(created_at).date() if created_at else datetime.fromtimestamp(since).date())
        window = f"{day - timedelta(days=1)}/{day + timedelta(days=1)}"
        async with self._lookup_lock:
            claimed = self.journal.claimed_ids
            async for ticket in self.client.tickets.iter(subject=[plan.subject], contacts=[plan.email], created_between=window):
                if ticket["id"] in claimed or ticket["subject"] != plan.subject:
                    continue
                if ticket["from_contact"].get("value", "").lower() != plan.email.lower():
                    continue
                if created_at and not same_instant(ticket["created_at"], created_at):
                    continue
                if not created_at and epoch(ticket["created_at"]) < since - 120:
                    continue
                return int(ticket["id"])
        return None

    async def _follow_up(self, key: str, ticket_id: int, message: dict[str, Any]) -> None:
        if key in self.journal.done:
            return
        if key in self.journal.intents and await self._message_exists(ticket_id, message):
            await self.journal.created(key, ticket_id)
            return
        await self.journal.intend(key)
        try:
            await self.client.messages(ticket_id).create(message)
        except AmbiguousCreate:
            if not await self._message_exists(ticket_id, message):
                await self.client.messages(ticket_id).create(message)
        self.summary.follow_ups += 1
        await self.journal.created(key, ticket_id)

    async def _message_exists(self, ticket_id: int, message: dict[str, Any]) -> bool:
        async for m in self.client.messages(ticket_id).iter(additional_types=["internal"]):
            if m.get("body") == message["body"] and (
                not message.get("created_at") or same_instant(m["created_at"], message["created_at"])
            ):
                return True
        return False


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def same_instant(a: str, b: str) -> bool:
    return abs(epoch(a) - epoch(b)) < 1

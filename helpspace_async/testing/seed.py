"""Deterministic, realistic seed data: the same seed always gives the same helpdesk.

Subjects carry unicode, quotes, commas and newlines; some fields are null; some
messages carry attachments. Messages and attachment bytes are derived from
(seed, ticket id) on demand, so 100k tickets start in about a second.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

from ..protocol import TICKET_STATUSES

AGENTS = [
    {"id": 1, "name": "Ada Agent", "email": "ada@helpdesk.example"},
    {"id": 2, "name": "Bruno Støvring", "email": "bruno@helpdesk.example"},
    {"id": 3, "name": "Chen Wei", "email": "chen@helpdesk.example"},
]
TEAMS = [{"id": 1, "name": "Support"}, {"id": 2, "name": "Billing"}, {"id": 3, "name": "Tier 2"}]
CHANNELS = {
    1: {"id": 1, "name": "Email", "value": "support@helpdesk.example", "type": "email"},
    2: {"id": 2, "name": "Widget", "value": "widget", "type": "widget"},
}
TAG_NAMES = ["billing", "bug", "vip", "refund", "feature-request", "urgent", "ünïcode"]
STATUSES = list(TICKET_STATUSES)  # the API's own spelling, "escaleted" included
SUBJECTS = [
    "Can't log in",
    'Invoice #{n} says "paid", but it isn\'t',
    "Refund, please, for order {n}",
    "Ошибка при оплате заказа {n}",
    "注文 {n} が届きません",
    "Multi-line\nsubject {n}",
    "Emoji 🎉 in subject {n}",
    "Comma, \"quote\", and 'apostrophe' {n}",
    "=1+1 formula-looking subject {n}",
]
NAMES = ["Zoë Müller", "Ola Nordmann", "José Ñúñez", "Mary O'Brien", "李雷", "Sam \"Sammy\" Smith", None]
EPOCH = datetime(2019, 1, 1, tzinfo=timezone.utc)
SPAN_SECONDS = 6 * 365 * 24 * 3600


def iso(dt: datetime) -> str:
    """ISO 8601 with an explicit offset, as the API writes timestamps."""
    return dt.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def _rng(seed: int, *key: int) -> random.Random:
    value = seed
    for k in key:
        value = value * 1_000_003 + k
    return random.Random(value)


def created_at_for(seed: int, ticket_id: int, count: int) -> datetime:
    """Seeded tickets are spread over six years, older ids older (newest first = highest id)."""
    jitter = _rng(seed, ticket_id, 7).randrange(0, 3600)
    return EPOCH + timedelta(seconds=SPAN_SECONDS * (ticket_id - 1) // max(count, 1) + jitter)


def seeded_ticket(seed: int, ticket_id: int, count: int) -> dict[str, Any]:
    """The ticket with this id in a helpdesk seeded with (seed, count)."""
    r = _rng(seed, ticket_id)
    created = created_at_for(seed, ticket_id, count)
    last_contact = created + timedelta(hours=r.randrange(0, 72))
    name = r.choice(NAMES)
    email = f"customer{r.randrange(1, 5000)}@mail.example"
    agent = r.choice(AGENTS + [None])
    team = r.choice(TEAMS + [None])
    return {
        "id": ticket_id,
        "subject": r.choice(SUBJECTS).format(n=ticket_id),
        "channel": dict(CHANNELS[r.choice((1, 1, 1, 2))]),
        "from_contact": {"id": 10_000 + int(email[8:].split("@")[0]), "user_id": None, "name": name, "value": email, "type": "email"},
        "status": r.choice(STATUSES),
        "assignee": dict(agent) if agent else None,
        "team": dict(team) if team else None,
        "creator": None,
        "tags": sorted(r.sample(TAG_NAMES, r.randrange(0, 3))),
        "last_contact": iso(last_contact),
        "created_at": iso(created),
        "updated_at": iso(last_contact),
        "deleted_at": None,
    }


def attachment_bytes(seed: int, attachment_id: int, size: int) -> bytes:
    """Deterministic file content for a seeded attachment."""
    return _rng(seed, attachment_id, 99).randbytes(size)


def seeded_messages(seed: int, ticket: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages of a seeded ticket, oldest first; attachment bytes live elsewhere."""
    tid = ticket["id"]
    r = _rng(seed, tid, 3)
    created = datetime.fromisoformat(ticket["created_at"])
    messages = []
    for index in range(r.randrange(1, 4)):
        mtype = "external" if index == 0 else r.choice(["external", "external", "internal"])
        attachments = []
        if r.random() < 0.15:
            for a in range(r.randrange(1, 3)):
                aid = tid * 100 + index * 10 + a
                size = r.randrange(10, 4000)
                attachments.append(
                    {
                        "id": aid,
                        "name": r.choice(["invoice.pdf", "screen shot.png", "résumé.txt", "../../etc/passwd"]),
                        "mime_type": r.choice(["application/pdf", "image/png", "text/plain"]),
                        "size": size,
                        "url": f"/api/v1/media/attachment/{aid}",
                    }
                )
        author = ticket["from_contact"] if mtype == "external" and index == 0 else None
        messages.append(
            {
                "id": tid * 10 + index,
                "ticket_id": tid,
                "type": mtype,
                "body": f"<p>Hello, message {index} of ticket {tid} — “quotes”, <b>bold</b> &amp; more</p>",
                "from_contact": dict(author) if author else None,
                "created_at": iso(created + timedelta(minutes=17 * index)),
                "attachments": attachments,
            }
        )
    return messages

"""The embedded server's state: tickets, messages, attachments, tags.

Memory is the working copy; with a database path every change is also written to
SQLite (stdlib `sqlite3`), and seeded data is regenerated from the stored seed, so
a restart sees exactly what the last run left.
"""

from __future__ import annotations

import random
import sqlite3
from bisect import bisect_left, insort
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from . import seed as seeding

NEW_ID_BASE = 1_000_000_000  # ids of objects created at run time (seeded ids stay below)


def now_iso() -> str:
    return seeding.iso(datetime.now(timezone.utc))


class Store:
    """All server state, with optional write-through persistence."""

    def __init__(self, *, tickets: int = 0, seed: int = 1, db_path: str | None = None) -> None:
        self.db: sqlite3.Connection | None = None
        self.tickets: dict[int, dict[str, Any]] = {}
        self.live: list[int] = []  # ids of tickets not deleted, ascending
        self.messages: dict[int, list[dict[str, Any]]] = {}
        self.attachments: dict[int, tuple[str, str, bytes]] = {}
        self.tags: dict[str, dict[str, Any]] = {}
        self.contacts: dict[str, int] = {}
        self.version = 0  # bumps on every change; listing caches key on it
        self.deleted_log: list[int] = []  # every delete, in order (tests read it)
        self.created_log: list[int] = []
        self._cache: dict[Any, tuple[int, list[int]]] = {}
        self._json: dict[int, bytes] = {}  # serialized tickets, so pages are joined, not re-encoded
        self.seed, self.seeded = seed, tickets
        self.next_ticket_id = self.next_message_id = self.next_attachment_id = NEW_ID_BASE
        if db_path:
            self.db = sqlite3.connect(db_path)
            self._init_db()
            stored = dict(self.db.execute("SELECT key, value FROM kv").fetchall())
            if stored:
                self.seed, self.seeded = int(stored["seed"]), int(stored["seeded"])
            else:
                self._kv(seed=seed, seeded=tickets)
        self._seed()
        if self.db is not None:
            self._load()

    # --- setup -----------------------------------------------------------------------

    def _seed(self) -> None:
        for tid in range(1, self.seeded + 1):
            ticket = self.tickets[tid] = seeding.seeded_ticket(self.seed, tid, self.seeded)
            self._json[tid] = orjson.dumps(ticket)  # warm: pages are then joins of bytes
        self.live = list(range(1, self.seeded + 1))
        for tag in seeding.TAG_NAMES:
            self.tags[tag] = {"id": len(self.tags) + 1, "name": tag, "type": "ticket", "color": "#888888"}

    def _init_db(self) -> None:
        assert self.db is not None
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE IF NOT EXISTS tickets (id INTEGER PRIMARY KEY, json BLOB);
            CREATE TABLE IF NOT EXISTS messages (ticket_id INTEGER PRIMARY KEY, json BLOB);
            CREATE TABLE IF NOT EXISTS attachments (id INTEGER PRIMARY KEY, name TEXT, mime TEXT, data BLOB);
            CREATE TABLE IF NOT EXISTS tags (name TEXT PRIMARY KEY, json BLOB);
            """
        )

    def _kv(self, **values: Any) -> None:
        assert self.db is not None
        self.db.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?)", [(k, str(v)) for k, v in values.items()])
        self.db.commit()

    def _load(self) -> None:
        assert self.db is not None
        for (blob,) in self.db.execute("SELECT json FROM tickets"):
            ticket = orjson.loads(blob)
            self.tickets[ticket["id"]] = ticket
            self.next_ticket_id = max(self.next_ticket_id, ticket["id"] + 1)
        self.live = sorted(t["id"] for t in self.tickets.values() if t["deleted_at"] is None)
        for tid, blob in self.db.execute("SELECT ticket_id, json FROM messages"):
            self.messages[tid] = orjson.loads(blob)
            for m in self.messages[tid]:
                self.next_message_id = max(self.next_message_id, m["id"] + 1)
        for aid, name, mime, data in self.db.execute("SELECT id, name, mime, data FROM attachments"):
            self.attachments[aid] = (name, mime, data)
            self.next_attachment_id = max(self.next_attachment_id, aid + 1)
        for (blob,) in self.db.execute("SELECT json FROM tags"):
            tag = orjson.loads(blob)
            self.tags[tag["name"]] = tag
        for t in self.tickets.values():
            self.contacts[t["from_contact"]["value"]] = t["from_contact"]["id"]

    def _persist_ticket(self, ticket: dict[str, Any]) -> None:
        self._json.pop(ticket["id"], None)
        if self.db is not None:
            self.db.execute("INSERT OR REPLACE INTO tickets VALUES (?, ?)", (ticket["id"], orjson.dumps(ticket)))
            self.db.commit()

    def _persist_messages(self, ticket_id: int) -> None:
        if self.db is not None:
            blob = orjson.dumps(self.messages[ticket_id])
            self.db.execute("INSERT OR REPLACE INTO messages VALUES (?, ?)", (ticket_id, blob))
            self.db.commit()

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None

    def _changed(self) -> None:
        self.version += 1
        self._cache.clear()

    # --- reads -----------------------------------------------------------------------

    def get(self, ticket_id: int) -> dict[str, Any] | None:
        return self.tickets.get(ticket_id)

    def ticket_json(self, ticket_id: int) -> bytes:
        """The ticket as JSON bytes, cached until it changes."""
        cached = self._json.get(ticket_id)
        if cached is None:
            cached = self._json[ticket_id] = orjson.dumps(self.tickets[ticket_id])
        return cached

    def listing(self, key: Any, predicate: Any, order: str = "id_desc") -> list[int]:
        """Live ids matching `predicate` in `order` (id or created, asc or desc); cached until the next change."""
        cached = self._cache.get((key, order))
        if cached and cached[0] == self.version:
            return cached[1]
        if predicate is None:
            ids = self.live[::-1]
        else:
            ids = [tid for tid in reversed(self.live) if predicate(self.tickets[tid])]
        if order.startswith("created"):
            ids.sort(key=lambda tid: (self.tickets[tid]["created_at"], tid), reverse=True)
        if order.endswith("_asc"):
            ids.reverse()
        self._cache[(key, order)] = (self.version, ids)
        return ids

    def messages_of(self, ticket_id: int) -> list[dict[str, Any]]:
        """Messages oldest first, generating a seeded ticket's on first use."""
        if ticket_id not in self.messages:
            ticket = self.tickets[ticket_id]
            self.messages[ticket_id] = seeding.seeded_messages(self.seed, ticket) if ticket_id <= self.seeded else []
        return self.messages[ticket_id]

    def attachment(self, attachment_id: int) -> tuple[str, str, bytes] | None:
        if attachment_id in self.attachments:
            return self.attachments[attachment_id]
        tid = attachment_id // 100
        if 1 <= tid <= self.seeded and attachment_id < NEW_ID_BASE:
            for m in self.messages_of(tid):
                for a in m["attachments"]:
                    if a["id"] == attachment_id:
                        return a["name"], a["mime_type"], seeding.attachment_bytes(self.seed, attachment_id, a["size"])
        return None

    # --- writes ----------------------------------------------------------------------

    def contact_id(self, email: str) -> int:
        if email not in self.contacts:
            self.contacts[email] = NEW_ID_BASE + len(self.contacts)
        return self.contacts[email]

    def add_attachment(self, name: str, mime: str, data: bytes) -> dict[str, Any]:
        aid = self.next_attachment_id
        self.next_attachment_id += 1
        self.attachments[aid] = (name, mime, data)
        if self.db is not None:
            self.db.execute("INSERT INTO attachments VALUES (?, ?, ?, ?)", (aid, name, mime, data))
        return {"id": aid, "name": name, "mime_type": mime, "size": len(data), "url": f"/api/v1/media/attachment/{aid}"}

    def insert_ticket(self, ticket: dict[str, Any], first_message: dict[str, Any]) -> dict[str, Any]:
        tid = self.next_ticket_id
        self.next_ticket_id += 1
        ticket["id"] = tid
        self.tickets[tid] = ticket
        insort(self.live, tid)
        first_message.update(id=self.next_message_id, ticket_id=tid)
        self.next_message_id += 1
        self.messages[tid] = [first_message]
        self.created_log.append(tid)
        self._persist_messages(tid)
        self._persist_ticket(ticket)
        self._changed()
        return ticket

    def add_message(self, ticket_id: int, message: dict[str, Any]) -> dict[str, Any]:
        message.update(id=self.next_message_id, ticket_id=ticket_id)
        self.next_message_id += 1
        self.messages_of(ticket_id).append(message)
        ticket = self.tickets[ticket_id]
        # as a helpdesk does: a message bumps the ticket's updated_at (now) and its last contact
        ticket["updated_at"] = now_iso()
        ticket["last_contact"] = max(ticket["last_contact"] or "", message["created_at"])
        self._persist_messages(ticket_id)
        self._persist_ticket(ticket)
        self._changed()
        return message

    def update_ticket(self, ticket: dict[str, Any]) -> None:
        ticket["updated_at"] = now_iso()
        self._persist_ticket(ticket)
        self._changed()

    def delete_ticket(self, ticket_id: int) -> None:
        ticket = self.tickets[ticket_id]
        ticket["deleted_at"] = now_iso()
        index = bisect_left(self.live, ticket_id)
        if index < len(self.live) and self.live[index] == ticket_id:
            del self.live[index]
        self.deleted_log.append(ticket_id)
        self._persist_ticket(ticket)
        self._changed()

    def add_tag(self, name: str, type_: str, color: str = "#888888") -> dict[str, Any]:
        tag = {"id": len(self.tags) + 1, "name": name, "type": type_, "color": color}
        self.tags[name] = tag
        if self.db is not None:
            self.db.execute("INSERT OR REPLACE INTO tags VALUES (?, ?)", (name, orjson.dumps(tag)))
            self.db.commit()
        self._changed()
        return tag

    def churn(self, rng: random.Random, count: int, *, past: bool = False) -> None:
        """Create and delete `count` tickets each, as colleagues do while an export runs.

        `past`: the new tickets carry a random old `created_at`, as a migration's do, so they
        land anywhere in a date-ordered or date-filtered listing (meta.total stays the same).
        """
        for _ in range(count):
            stamp = now_iso()
            if past and self.live:
                oldest = datetime.fromisoformat(self.tickets[self.live[0]]["created_at"])
                span = max(1, int((datetime.now(timezone.utc) - oldest).total_seconds()))
                stamp = seeding.iso(oldest + timedelta(seconds=rng.randrange(span)))
            email = f"churn{rng.randrange(10**6)}@mail.example"
            self.insert_ticket(
                {
                    "subject": f"Churn ticket {rng.randrange(10**6)}",
                    "channel": dict(seeding.CHANNELS[1]),
                    "from_contact": {"id": self.contact_id(email), "user_id": None, "name": None, "value": email, "type": "email"},
                    "status": "open", "assignee": None, "team": None, "creator": None, "tags": [],
                    "last_contact": stamp, "created_at": stamp, "updated_at": now_iso(), "deleted_at": None,
                },
                {"type": "external", "body": "<p>churn</p>", "from_contact": None, "created_at": stamp, "attachments": []},
            )
            if self.live:
                self.delete_ticket(rng.choice(self.live))

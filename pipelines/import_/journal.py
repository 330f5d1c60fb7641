"""The import journal: what was about to be created and what was, durably.

An append-only JSONL file. Before a create: `{"key", "intent"}`, fsynced before the
request goes out. After it: `{"key", "id"}`, flushed, and made durable by the next
fsync (losing it to a power cut only means a lookup on rerun, never a duplicate).
On a rerun, a key with an id is done; a key with only an intent may exist on the
server and is looked up before anything is sent again. Concurrent workers share
fsyncs (group commit), so durability doesn't serialise the run.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import orjson

from ..errors import UsageError


class Journal:
    """Keys -> created ids, replayed from disk and appended to durably."""

    def __init__(self, path: Path, *, read_only: bool = False, account: dict[str, str] | None = None) -> None:
        """`account` (resume.run_identity): whose journal this is; a journal of another account is refused,
        since its "already done" would be wrong there (nothing would be created)."""
        self.path = path
        self.account: dict[str, str] | None = None
        self.done: dict[str, int] = {}
        self.intents: dict[str, float] = {}
        self.parts: dict[str, int] = {}  # follow-up messages a ticket was given (after any split)
        self._owners: dict[int, str] | None = None  # ticket id -> the key it was given to
        if path.exists():
            self._replay()
        if account is not None and self.account is not None and self.account != account:
            raise UsageError(f"{path} records an import into another account ({self.account.get('origin')}, client "
                             f"{self.account.get('client')}); this run talks to {account.get('origin')}, client "
                             f"{account.get('client')}. Give this account its own journal with --state FILE.")
        if read_only:  # a dry run reads what is done and writes nothing
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(path, "ab")
        if self._fh.tell() and not _ends_with_newline(path):
            self._fh.write(b"\n")  # a line cut by a crash stays alone: the next entry can't be glued to it
        if self._fh.tell() == 0 and account is not None:
            self._fh.write(orjson.dumps({"account": account}) + b"\n")
        self._written = self._synced = 0
        self._lock = asyncio.Lock()

    def _replay(self) -> None:
        with open(self.path, "rb") as fh:
            for line in fh:
                try:
                    entry = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue  # a line cut by a crash mid-write; the entry before it stands
                if not isinstance(entry, dict):
                    continue
                if "account" in entry and self.account is None and isinstance(entry["account"], dict):
                    self.account = entry["account"]
                    continue
                if "id" in entry:
                    self.done[entry["key"]] = entry["id"]
                    self.intents.pop(entry["key"], None)
                    if "parts" in entry:
                        self.parts[entry["key"]] = entry["parts"]
                elif "intent" in entry and entry["key"] not in self.done:
                    self.intents[entry["key"]] = entry["intent"]

    @property
    def claimed_ids(self) -> set[int]:
        return set(self.done.values())

    def owner_of(self, ticket_id: int) -> str | None:
        """The ticket key (not a follow-up's) the journal gave `ticket_id` to, if any."""
        if self._owners is None:  # built once, then kept up to date by created()
            self._owners = {tid: key for key, tid in self.done.items() if "#" not in key}
        return self._owners.get(ticket_id)

    async def intend(self, key: str) -> None:
        """Record, durably, that `key` is about to be created."""
        now = time.time()
        self.intents[key] = now
        await self._append({"key": key, "intent": now})

    async def created(self, key: str, ticket_id: int, *, parts: int | None = None) -> None:
        self.done[key] = ticket_id
        self.intents.pop(key, None)
        if self._owners is not None and "#" not in key:
            self._owners.setdefault(ticket_id, key)
        entry = {"key": key, "id": ticket_id, **({"parts": parts} if parts is not None else {})}
        if parts is not None:
            self.parts[key] = parts
        self._fh.write(orjson.dumps(entry) + b"\n")
        self._fh.flush()
        self._written += 1

    async def _append(self, entry: dict) -> None:
        self._fh.write(orjson.dumps(entry) + b"\n")
        self._written += 1
        target = self._written
        async with self._lock:
            if self._synced >= target:
                return  # another worker's fsync covered this line
            upto = self._written
            self._fh.flush()
            await asyncio.to_thread(os.fsync, self._fh.fileno())
            self._synced = upto

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"

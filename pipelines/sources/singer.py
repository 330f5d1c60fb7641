"""Singer and Airbyte output: parent and child streams, joined on the parent id.

Three shapes are read, each normalised to a Singer RECORD before anything else sees it:
- Singer: `{"type": "RECORD", "stream": "tickets", "record": {...}}` (and SCHEMA, STATE);
- Airbyte protocol messages: `{"type": "RECORD", "record": {"stream": ..., "data": {...},
  "emitted_at": ...}}`, with STATE, LOG and TRACE lines (ignored);
- Airbyte raw files, one per stream (`_airbyte_raw_<stream>.jsonl` from the Local JSON
  destination: `{"_airbyte_ab_id", "_airbyte_emitted_at", "_airbyte_data"}`, or the v2
  columns `_airbyte_raw_id`, `_airbyte_extracted_at`, `_airbyte_meta`, `_airbyte_data`),
  the stream named by the file.
Children (comments, conversations, threads) and users come as streams of their own, in
any order. An indexing pass stores children and users in a temporary SQLite file keyed by
parent id, so memory stays bounded however big the export; the import passes then see
each parent with its children attached, in the shape the source's adapter reads.
"""

from __future__ import annotations

import re
import sqlite3
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from .common import as_dict

# source -> parent stream, {child stream: (parent key, field on the parent)}
STREAMS: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "zendesk": ("tickets", {"ticket_comments": ("ticket_id", "comments")}),
    "freshdesk": ("tickets", {"conversations": ("ticket_id", "conversations")}),
    "helpscout": ("conversations", {"conversation_threads": ("conversation_id", "threads")}),
}
# source -> {stream: lookup kind}: the records that tickets name by id (users, agents, groups, fields)
LOOKUPS: dict[str, dict[str, str]] = {
    "zendesk": {"users": "users", "groups": "groups", "ticket_fields": "fields", "organizations": "organizations"},
    "freshdesk": {"contacts": "users", "agents": "agents", "groups": "groups", "ticket_fields": "fields",
                  "companies": "organizations"},
    "helpscout": {"customers": "users", "users": "agents", "teams": "groups"},
}
LOOKUP_KINDS = ("users", "agents", "groups", "fields", "organizations")
MESSAGE_TYPES = {"RECORD", "SCHEMA", "STATE", "ACTIVATE_VERSION", "BATCH"}
AIRBYTE_TYPES = {"RECORD", "STATE", "LOG", "TRACE", "CATALOG", "SPEC", "CONNECTION_STATUS", "CONTROL"}
RAW_FILE = re.compile(r"^(?:_airbyte_raw_)?(?P<stream>[A-Za-z0-9_]+?)(?:_\d+)?\.jsonl(?:\.gz)?$")


def stream_of_file(path: Path) -> str | None:
    """`_airbyte_raw_ticket_comments.jsonl` -> `ticket_comments` (a raw file names its stream)."""
    found = RAW_FILE.match(path.name)
    return found.group("stream") if found else None


def normalise(message: Any, file_stream: str | None = None) -> Any:
    """An Airbyte message or raw-file line as a Singer message; anything else unchanged."""
    if not isinstance(message, dict):
        return message
    record = message.get("record")
    if message.get("type") == "RECORD" and isinstance(record, dict) and "data" in record and "stream" in record:
        return {"type": "RECORD", "stream": record["stream"], "record": record["data"]}  # Airbyte protocol
    if "_airbyte_data" in message:  # an Airbyte raw file's line (v1 or v2 columns)
        data = message["_airbyte_data"]
        if isinstance(data, str):
            data = orjson.loads(data)
        return {"type": "RECORD", "stream": file_stream, "record": data}
    if message.get("type") in AIRBYTE_TYPES - MESSAGE_TYPES or (message.get("type") == "STATE" and "state" in message):
        return {"type": message["type"], "stream": None}  # LOG, TRACE, Airbyte's STATE: nothing to import
    return message


def protocol(message: Any) -> str | None:
    """What wrote a raw line ("Airbyte protocol messages", "Airbyte raw files", "Singer messages"),
    said in the first line of output; None for a plain record."""
    if not isinstance(message, dict):
        return None
    if "_airbyte_data" in message:
        return "Airbyte raw files"
    kind = message.get("type")
    if kind in AIRBYTE_TYPES - MESSAGE_TYPES or (kind == "STATE" and "state" in message) or (
            kind == "RECORD" and isinstance(message.get("record"), dict) and "data" in message["record"]):
        return "Airbyte protocol messages"
    return "Singer messages" if kind in MESSAGE_TYPES and ("stream" in message or "value" in message) else None


def is_singer(record: Any) -> bool:
    """A Singer message (or an Airbyte one, once normalised)."""
    return isinstance(record, dict) and (record.get("type") in MESSAGE_TYPES | AIRBYTE_TYPES) and (
        "stream" in record or "value" in record)


def detect(messages: Iterable[dict[str, Any]]) -> str | None:
    """The source from the stream names of the first messages."""
    streams = {m.get("stream") for m in messages if isinstance(m, dict)}
    if "conversations" in streams and {"contacts", "agents", "companies"} & streams:
        return "freshdesk"
    if "ticket_comments" in streams or "users" in streams and "tickets" in streams:
        return "zendesk"
    if "conversation_threads" in streams:
        return "helpscout"
    if {"tickets", "conversations"} <= streams:
        return "freshdesk"
    if "tickets" in streams:
        return "zendesk"
    return None


class SingerIndex:
    """Children and lookups (users, agents, groups, fields) of a tap's output, on disk, for
    joining children to their parents and resolving the ids that tickets name."""

    def __init__(self, source: str) -> None:
        self.parent_stream, self.children = STREAMS[source]
        self.lookup_streams = LOOKUPS[source]
        self._file = tempfile.NamedTemporaryFile(prefix="helpspace-singer-", suffix=".sqlite")
        self._db = sqlite3.connect(self._file.name, check_same_thread=False)  # passes run one after another
        self._db.executescript(
            "CREATE TABLE child (stream TEXT, parent TEXT, seq INTEGER, json BLOB);"
            "CREATE TABLE lookup (kind TEXT, key TEXT, json BLOB, PRIMARY KEY (kind, key));"
        )
        self._seq = 0
        self.counts: dict[str, int] = {}  # lookup kind -> records indexed, for the report

    def add(self, message: dict[str, Any], kind: str | None = None) -> None:
        """Index one message of the indexing pass (only children and lookups are kept); `kind`
        says what a file given as --users/--agents/--groups/--fields holds."""
        if message.get("type") != "RECORD":
            return
        stream, record = message.get("stream"), message.get("record") or {}
        if stream in self.children:
            key = self.children[stream][0]
            self._seq += 1
            self._db.execute("INSERT INTO child VALUES (?, ?, ?, ?)", (stream, str(record.get(key)), self._seq, orjson.dumps(record)))
        elif isinstance(record, dict) and (found := self.lookup_streams.get(str(stream)) or kind):
            self.add_lookup(found, record)

    def add_lookup(self, kind: str, record: dict[str, Any]) -> None:
        """A user, agent, group or field, findable by id, by name (`name:` + lower case; a CSV
        names assignees) and, for fields, by their API name (Freshdesk's `cf_...`)."""
        blob = orjson.dumps(record)
        keys = {str(record["id"])} if record.get("id") is not None else set()
        name = record.get("name") or as_dict(record.get("contact")).get("name")  # Freshdesk agents: contact.name
        if name:
            keys.add("name:" + str(name).lower())
            if kind == "fields":
                keys.add(str(name))
        counted = str(record["id"]) if record.get("id") is not None else "name:" + str(name).lower()
        for key in keys:  # the newest wins; a record given again (a later round of lookups) is counted once
            if not self._db.execute("INSERT OR IGNORE INTO lookup VALUES (?, ?, ?)", (kind, key, blob)).rowcount:
                self._db.execute("UPDATE lookup SET json = ? WHERE kind = ? AND key = ?", (blob, kind, key))
            elif key == counted:
                self.counts[kind] = self.counts.get(kind, 0) + 1

    def finish_indexing(self) -> None:
        self._db.execute("CREATE INDEX child_parent ON child (stream, parent, seq)")
        self._db.commit()

    def commit(self) -> None:
        self._db.commit()

    def parent(self, message: dict[str, Any]) -> dict[str, Any] | None:
        """A parent record with its children attached; None for every other message."""
        if message.get("type") != "RECORD" or message.get("stream") != self.parent_stream:
            return None
        return self.attach(dict(message.get("record") or {}), stream_output=True)

    def attach(self, record: dict[str, Any], *, stream_output: bool = False) -> dict[str, Any]:
        """`record` with its indexed children (a stream's, or fetched from the source's API)."""
        for stream, (_, field) in self.children.items():
            rows = self._db.execute("SELECT json FROM child WHERE stream = ? AND parent = ? ORDER BY seq",
                                    (stream, str(record.get("id"))))
            joined = [orjson.loads(blob) for (blob,) in rows]
            if joined or (stream_output and field not in record):  # inline children stay when the index has none
                record[field] = joined
        return record

    @property
    def has_children(self) -> bool:
        return self._seq > 0

    def lookup(self, kind: str, key: Any) -> dict[str, Any] | None:
        """The `kind` record with this id (or `name:` + lower-case name); None when not given."""
        row = self._db.execute("SELECT json FROM lookup WHERE kind = ? AND key = ?", (kind, str(key))).fetchone()
        return orjson.loads(row[0]) if row else None

    def close(self) -> None:
        self._db.close()
        self._file.close()

"""`--reuse PREVIOUS`: a new full snapshot at the price of what changed.

The one assumption, here and nowhere else: **a ticket whose `updated_at` and
`last_contact` are what they were in PREVIOUS has the same messages** (a helpdesk
bumps both when a message is added, and `updated_at` on every edit). Such a ticket's
messages (and embedded or saved attachments) are copied from PREVIOUS; every other
ticket's are fetched. PREVIOUS is read once, streaming, into an on-disk index (SQLite
in a temporary file), so memory stays flat whatever its size.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from ..errors import ExportConfigError
from ..files import read_json
from ..formats import detect_format

SAME_OPTIONS = ("status", "tags", "subject", "created_between", "attachments")


def unchanged(previous: tuple[Any, Any], ticket: dict[str, Any]) -> bool:
    """The assumption: same `updated_at` and `last_contact` means the same messages."""
    updated_at, last_contact = previous
    return updated_at is not None and updated_at == ticket.get("updated_at") and last_contact == ticket.get("last_contact")


class PreviousSnapshot:
    """An earlier `--with-messages` JSONL export, indexed by ticket id on disk."""

    def __init__(self, path: Path, *, output: Path, options: dict[str, Any]) -> None:
        self.path = path
        self.manifest = self._check(path, output, options)
        self._file = tempfile.NamedTemporaryFile(prefix="helpspace-previous-", suffix=".sqlite")
        self._db = sqlite3.connect(self._file.name, check_same_thread=False)  # built on a thread, then read on the loop
        self._db.execute("CREATE TABLE ticket (id INTEGER PRIMARY KEY, updated_at TEXT, last_contact TEXT, messages BLOB)")
        self.sha256 = self._index()

    @staticmethod
    def _check(path: Path, output: Path, options: dict[str, Any]) -> dict[str, Any]:
        """Refuse a PREVIOUS that can't be reused safely, saying why."""
        if not path.is_file():
            raise ExportConfigError(f"--reuse {path}: no such file")
        manifest = read_json(path.with_name(path.name + ".manifest.json"))
        if not isinstance(manifest, dict):
            raise ExportConfigError(f"--reuse {path}: its manifest ({path.name}.manifest.json) is missing; "
                                    "reuse only a complete export made by this tool")
        if detect_format(str(path), None) != "jsonl" or manifest.get("format") != "jsonl":
            raise ExportConfigError(f"--reuse {path}: only a JSONL(.gz) export can be read back")
        filters = manifest.get("filters") or {}
        if not filters.get("with_messages"):
            raise ExportConfigError(f"--reuse {path}: it was exported without --with-messages: nothing to reuse")
        differ = [k for k in SAME_OPTIONS if filters.get(k) != options.get(k)]
        if differ:
            raise ExportConfigError(f"--reuse {path}: it was exported with other {', '.join(differ)}; "
                                    "reuse an export made with the same options, or export without --reuse")
        folder_mode = options.get("attachments") not in (None, "embed")
        if folder_mode and path.resolve().parent != output.resolve().parent:
            raise ExportConfigError("--reuse with --attachments DIR: write the new export next to the previous one "
                                    "(saved attachment paths are relative to the export's folder)")
        return manifest

    def _index(self) -> str:
        """Index PREVIOUS and return its sha256, in one read: the raw bytes are hashed as they are decompressed."""
        digest = hashlib.sha256()
        with open(self.path, "rb") as raw:
            stream = io.BufferedReader(_Hashing(raw, digest), buffer_size=1 << 20)
            lines = gzip.GzipFile(fileobj=stream) if self.path.name.endswith(".gz") else stream
            rows = ((t["id"], t.get("updated_at"), t.get("last_contact"), orjson.dumps(t.get("messages") or []))
                    for t in (orjson.loads(line) for line in lines if line.strip()))
            self._db.executemany("INSERT OR REPLACE INTO ticket VALUES (?, ?, ?, ?)", rows)
            while stream.read(1 << 20):  # a gzip trailer or padding not read by the parser still counts
                pass
        self._db.commit()
        return digest.hexdigest()

    def messages_if_unchanged(self, ticket: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The previous messages of `ticket`, if it didn't change since; None otherwise."""
        row = self._db.execute("SELECT updated_at, last_contact, messages FROM ticket WHERE id = ?",
                               (ticket["id"],)).fetchone()
        if row is None or not unchanged((row[0], row[1]), ticket):
            return None
        messages: list[dict[str, Any]] = orjson.loads(row[2])
        return messages

    def figures(self, enricher: Any, deleted: list[int]) -> dict[str, Any]:
        """The manifest's account of a snapshot made with --reuse."""
        return {
            "reused": enricher.reused,
            "fetched": enricher.fetched,
            "deleted_since_previous": {"count": len(deleted), "ids": deleted},
            "previous": {"path": str(self.path), "sha256": self.sha256},
        }

    def ids(self) -> Iterator[int]:
        for (tid,) in self._db.execute("SELECT id FROM ticket ORDER BY id"):
            yield tid

    def close(self) -> None:
        self._db.close()
        self._file.close()


class _Hashing(io.RawIOBase):
    """A raw reader that feeds every byte it reads to `digest`."""

    def __init__(self, raw: Any, digest: Any) -> None:
        self._raw, self._digest = raw, digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n: int = self._raw.readinto(buffer)
        self._digest.update(memoryview(buffer)[:n])
        return n

"""Parquet: typed columns (int64 ids, UTC timestamps, list<string> tags, structs), zstd,
written in row groups so memory stays flat. Needs the `parquet` extra (pyarrow).

Fields the schema doesn't name are kept as a JSON object in `extra`; with
--with-messages, `messages` is a JSON string (its shape varies by message type).
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError:  # pragma: no cover - exercised when the extra is missing
    pa = pq = None

from .fields import EXTRA, KNOWN_NAMES, MESSAGES, TICKET_FIELDS, Field

ROW_GROUP = 20_000
MAX_PENDING = 2  # row groups waiting for the writer thread: memory stays bounded
MISSING = "Parquet needs pyarrow: pip install 'helpspace-async[parquet]'"


def require() -> None:
    if pa is None:
        raise ImportError(MISSING)


def arrow_schema(with_messages: bool = False, described: tuple[Field, ...] = TICKET_FIELDS) -> Any:
    """The explicit, documented schema of a Parquet export, derived from fields.py."""
    require()
    ts = pa.timestamp("us", tz="UTC")
    scalar = {"integer": pa.int64(), "string": pa.string(), "status": pa.string(), "timestamp": ts, "boolean": pa.bool_(),
              "json": pa.string(), "tags": pa.list_(pa.string())}  # json: its shape is undocumented
    fields = []
    for f in described:
        if f.kind == "object":
            kind = pa.struct([(name, scalar[sub]) for name, sub in f.sub])
        else:
            kind = scalar[f.kind]
        fields.append(pa.field(f.name, kind, nullable=f.name != "id"))
    fields.append(pa.field(EXTRA, pa.string()))  # JSON object of fields the schema doesn't name
    if with_messages:
        fields.append(pa.field(MESSAGES, pa.string()))
    return pa.schema(fields)


KNOWN = set(KNOWN_NAMES)


def as_json_line(ticket: dict[str, Any], with_messages: bool, described: tuple[Field, ...] = TICKET_FIELDS) -> bytes:
    """One record as a JSON line that Arrow's JSON reader can read into `arrow_schema`.

    Most tickets go as they are; `json` fields (a ticket's `creator`), fields the schema
    doesn't name, and `messages` become JSON strings first (their columns hold JSON text).
    """
    names, json_names = _NAMES.get(id(described)) or _names(described)
    if not with_messages and ticket.keys() <= names:
        for name in json_names:
            if ticket.get(name) is not None:
                break
        else:  # the common case: the record goes as it is
            return orjson.dumps(ticket) + b"\n"
    known = names | {"messages"} if with_messages else names
    row = {k: v for k, v in ticket.items() if k in names}
    for name in json_names:
        value = ticket.get(name)
        row[name] = orjson.dumps(value).decode() if value is not None else None
    extra = {k: v for k, v in ticket.items() if k not in known}
    row["extra"] = orjson.dumps(extra).decode() if extra else None
    if with_messages:
        row["messages"] = orjson.dumps(ticket.get("messages") or []).decode()
    return orjson.dumps(row) + b"\n"


_NAMES: dict[int, tuple[set[str], tuple[str, ...]]] = {}


def _names(described: tuple[Field, ...]) -> tuple[set[str], tuple[str, ...]]:
    """The named fields and the json ones of a field list, computed once."""
    if id(described) not in _NAMES:
        _NAMES[id(described)] = ({f.name for f in described}, tuple(f.name for f in described if f.kind == "json"))
    return _NAMES[id(described)]


class ParquetFile:
    """Tickets gathered into row groups and written to `path` (the caller renames it into place).

    The event loop only serialises rows (as cheap as JSONL); Arrow's C++ JSON reader
    parses each row group into the explicit schema (ISO timestamps included), and
    encoding, zstd and I/O follow, all on a writer thread that doesn't hold the GIL.
    """

    def __init__(self, path: Path, *, with_messages: bool, drop: frozenset[str] = frozenset(),
                 described: tuple[Field, ...] = TICKET_FIELDS) -> None:
        require()
        from concurrent.futures import Future, ThreadPoolExecutor

        self.path = path
        self.with_messages = with_messages
        self.described = described
        schema = arrow_schema(with_messages, described)
        self.schema = pa.schema([f for f in schema if f.name not in drop])
        self._lines: list[bytes] = []
        self._writer = pq.ParquetWriter(str(path), self.schema, compression="zstd")
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="helpspace-parquet")
        self._pending: list[Future[None]] = []
        self.count = 0

    def add(self, tickets: list[dict[str, Any]]) -> None:
        self._lines.extend(as_json_line(t, self.with_messages, self.described) for t in tickets)
        if len(self._lines) >= ROW_GROUP:
            self.flush()

    def flush(self) -> None:
        if self._lines:
            block = b"".join(self._lines)
            self.count += len(self._lines)
            self._lines = []
            while len(self._pending) >= MAX_PENDING or (self._pending and self._pending[0].done()):
                self._pending.pop(0).result()  # backpressure; a write error surfaces here
            self._pending.append(self._io.submit(self._write, block))

    def _write(self, block: bytes) -> None:
        import io

        import pyarrow.json as pj

        options = pj.ParseOptions(explicit_schema=self.schema, unexpected_field_behavior="ignore")
        read = pj.ReadOptions(block_size=len(block) + 1, use_threads=False)  # one thread: this one
        table = pj.read_json(io.BytesIO(block), parse_options=options, read_options=read)
        self._writer.write_table(table.select(self.schema.names).cast(self.schema))
        del table
        pa.default_memory_pool().release_unused()  # keep RSS flat across row groups

    def close(self) -> None:
        self.flush()
        for job in self._pending:
            job.result()
        self._io.shutdown()
        self._writer.close()


class PartitionedParquet:
    """Hive-style folders (`created_date=2021-09-10/part-0000.parquet`) under `root`.

    Rows wait per partition; when MAX_BUFFERED rows wait in all, every partition is
    flushed as a row group, so memory stays flat whatever the number of partitions.
    At most MAX_OPEN files are open; a partition reopened later gets a new part file.
    """

    MAX_BUFFERED = ROW_GROUP
    MAX_OPEN = 64

    def __init__(self, root: Path, *, by: str, with_messages: bool) -> None:
        require()
        self.root = root
        self.by = by
        self.with_messages = with_messages
        self._open: dict[str, ParquetFile] = {}
        self._parts: dict[str, int] = {}
        self._waiting: dict[str, list[dict[str, Any]]] = {}
        self._buffered = 0
        self.counts: dict[str, int] = {}

    def key(self, ticket: dict[str, Any]) -> str:
        """`column=value`, one path component whatever the server sent: a creation day that isn't a
        date is `unknown`, and every value is URI-encoded as Hive and pyarrow do (`/` -> `%2F`)."""
        if self.by == "status":
            raw = ticket.get("status")
            value = raw if isinstance(raw, str) and raw else "unknown"
        else:
            raw = ticket.get("created_at")
            day = raw[:10] if isinstance(raw, str) else ""
            try:
                value = date.fromisoformat(day).isoformat()
            except ValueError:
                value = "unknown"
        return f"{self.by}={quote(value, safe='')}"

    def add(self, tickets: list[dict[str, Any]]) -> None:
        for t in tickets:
            key = self.key(t)
            self._waiting.setdefault(key, []).append(t)
            self.counts[key] = self.counts.get(key, 0) + 1
        self._buffered += len(tickets)
        if self._buffered >= self.MAX_BUFFERED:
            self.flush()

    def flush(self) -> None:
        for key, tickets in self._waiting.items():
            if not tickets:
                continue
            writer = self._open.get(key)
            if writer is None:
                if len(self._open) >= self.MAX_OPEN:
                    oldest = next(iter(self._open))
                    self._open.pop(oldest).close()
                number = self._parts.get(key, 0)
                self._parts[key] = number + 1
                folder = self.root / key
                folder.mkdir(parents=True, exist_ok=True)
                # Hive convention: the partition column lives in the folder name, not in the file
                drop = frozenset({"status"}) if self.by == "status" else frozenset()
                writer = self._open[key] = ParquetFile(folder / f"part-{number:04d}.parquet",
                                                       with_messages=self.with_messages, drop=drop)
            writer.add(tickets)
            writer.flush()
        self._waiting = {}
        self._buffered = 0

    def close(self) -> None:
        self.flush()
        for writer in self._open.values():
            writer.close()
        self._open = {}


class ParquetOutput:
    """A Parquet export that appears at PATH only when complete (file or partition folder).

    A `formats.Writer`; not resumable."""

    def __init__(self, path: Path, *, partition_by: str | None, with_messages: bool,
                 described: tuple[Field, ...] = TICKET_FIELDS) -> None:
        require()
        self.path = path
        self.part = path.with_name(path.name + ".part")
        self._remove(self.part)
        path.parent.mkdir(parents=True, exist_ok=True)
        if partition_by:
            self.part.mkdir()
            self._sink: ParquetFile | PartitionedParquet = PartitionedParquet(self.part, by=partition_by, with_messages=with_messages)
        else:
            self._sink = ParquetFile(self.part, with_messages=with_messages, described=described)
        self.closed = False

    resumable = False  # the footer is written last: a cut Parquet file can't be continued

    @property
    def partitions(self) -> dict[str, int]:
        return dict(self._sink.counts) if isinstance(self._sink, PartitionedParquet) else {}

    def write(self, tickets: list[dict[str, Any]]) -> None:
        if tickets:
            self._sink.add(tickets)

    def sync(self) -> int:
        return 0

    def finish(self) -> str:
        """Close and move into place; the sha256 of a single file ("" for a folder)."""
        from ..files import sha256_of

        self._sink.close()
        self.closed = True
        digest = sha256_of(self.part) if self.part.is_file() else ""
        if self.path.is_dir():
            old = self.path.with_name(f"{self.path.name}.old-{int(time.time())}")
            os.replace(self.path, old)
            os.replace(self.part, self.path)
            shutil.rmtree(old)
        else:
            os.replace(self.part, self.path)
        return digest

    def close(self) -> None:
        """Interrupted: Parquet can't be appended to later, so the partial output goes."""
        self.abandon()

    def abandon(self) -> None:
        if not self.closed:
            try:
                self._sink.close()
            except Exception:  # noqa: BLE001 - the partial file is deleted anyway
                pass
            self.closed = True
        self._remove(self.part)

    @staticmethod
    def _remove(path: Path) -> None:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()

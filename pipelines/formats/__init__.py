"""Output and input formats: JSONL (lossless), CSV (flat, stable columns), Parquet (typed).

Every export output is a `Writer`: `write(tickets)` adds rows, `sync()` makes them
durable and returns the offset a checkpoint may record, `finish()` puts the file in
place and returns its sha256, `close()` stops but keeps what a resume needs, and
`abandon()` removes everything. The exporter never asks which format it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import orjson

from ..errors import UsageError
from ..files import PartFile, StdoutFile
from .fields import TICKET_FIELDS, Field

FORMATS = ("jsonl", "csv", "parquet")


def detect_format(path: str, given: str | None) -> str:
    """`--format`, else the file suffix (`.jsonl`, `.csv`, optionally followed by `.gz`)."""
    if given:
        return given
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith((".jsonl", ".ndjson", ".json")) or path == "-":
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    raise UsageError(f"cannot tell the format of {path!r}: name it .jsonl, .csv or .parquet, or pass --format")


class Writer(Protocol):
    """Where exported tickets go."""

    resumable: bool  # a .part and an offset let a later run continue it

    @property
    def partitions(self) -> dict[str, int]: ...  # Hive partitions and their row counts (Parquet only)

    def write(self, tickets: list[dict[str, Any]]) -> None: ...

    def sync(self) -> int: ...

    def finish(self) -> str: ...

    def close(self) -> None: ...

    def abandon(self) -> None: ...


class RowWriter:
    """JSONL or CSV rows, appended to an atomic `.part` file (or stdout)."""

    def __init__(self, sink: PartFile | StdoutFile, encode: Callable[[list[dict[str, Any]]], bytes]) -> None:
        self._sink = sink
        self._encode = encode
        self.resumable = isinstance(sink, PartFile)

    @property
    def partitions(self) -> dict[str, int]:
        return {}

    @property
    def part(self) -> Path:
        return self._sink.part if isinstance(self._sink, PartFile) else Path("-")

    def write(self, tickets: list[dict[str, Any]]) -> None:
        if tickets:
            self._sink.write(self._encode(tickets))

    def sync(self) -> int:
        return self._sink.sync()

    def written_digest(self) -> str:
        """sha256 of what `sync()` made durable: a checkpoint records it (resume.py checks it)."""
        return self._sink.written_digest() if isinstance(self._sink, PartFile) else ""

    def finish(self) -> str:
        return self._sink.finish()

    def close(self) -> None:
        self._sink.close()

    def abandon(self) -> None:
        self._sink.abandon()

    @property
    def closed(self) -> bool:
        return isinstance(self._sink, PartFile) and self._sink.closed


def _jsonl(tickets: list[dict[str, Any]]) -> bytes:
    return b"".join([orjson.dumps(t) + b"\n" for t in tickets])


def open_writer(fmt: str, path: Path, *, with_messages: bool, formula_guard: bool = True,
                partition_by: str | None = None, resume_offset: int | None = None,
                fields: tuple[Field, ...] = TICKET_FIELDS) -> Writer:
    """The writer for `fmt` at `path` (`-`: JSONL on stdout); `resume_offset` continues a .part.
    `fields`: what the rows are (fields.py: tickets by default, customers, organizations)."""
    if str(path) == "-":
        return RowWriter(StdoutFile(), _jsonl)
    if fmt == "parquet":
        from .parquet_format import ParquetOutput

        return ParquetOutput(path, partition_by=partition_by, with_messages=with_messages, described=fields)
    sink = PartFile(path, resume_offset=resume_offset)
    if fmt == "csv":
        from .csv_format import CsvEncoder

        encoder = CsvEncoder(with_messages=with_messages, guard=formula_guard, fields=fields)
        if resume_offset is None:
            sink.write(encoder.header())
        return RowWriter(sink, encoder.encode_many)
    return RowWriter(sink, _jsonl)


def read_written(fmt: str, path: Path) -> Iterator[tuple[int, str | None]]:
    """(id, created_at) of the tickets already in an output (its .part), for resuming."""
    from . import csv_format, jsonl

    if fmt == "csv":
        return ((int(row["id"]), row.get("created_at") or None) for _, row in csv_format.read_rows(path))
    return ((t["id"], t.get("created_at")) for t in (orjson.loads(line) for _, line in jsonl.read_lines(path)))

"""Import input -> rows to send or rejections, with line numbers, streamed.

Reads JSONL (our exports, create bodies, other helpdesks' exports, Singer/Airbyte
streams) and CSV (dotted columns, Zendesk's export); the source adapter, when there
is one, maps each record. Nothing here sends anything.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..errors import InputError, Rejected, Skipped, UsageError
from ..formats import csv_format, detect_format, jsonl
from ..sources import converter, detect, singer
from ..sources.common import SourceContext, SourceRecord
from . import documents
from .records import from_csv_row

SINGER_DETECT_LINES = 500  # messages read to tell a tap's source from its stream names


@dataclass(frozen=True)
class Row:
    """A record to plan and send."""

    line: int
    record: dict[str, Any]  # an import record (after the source adapter)
    original: Any  # what the input said, for the rejects file
    skipped_notes: int = 0
    flags: list[str] = field(default_factory=list)
    unresolved: list[tuple[str, str]] = field(default_factory=list)  # ids the input named but didn't describe


@dataclass(frozen=True)
class SkippedRecord:
    """A record left out by design (deleted in the source): reported, not rejected."""

    line: int
    reason: str


@dataclass(frozen=True)
class Unreadable:
    """A record rejected while reading: it never becomes a request."""

    line: int
    reason: str
    original: Any
    unresolved: list[tuple[str, str]] = field(default_factory=list)  # why, when it was an id nobody described


class RecordReader:
    """The records of one input file, mapped by its source's adapter."""

    def __init__(self, path: Path, *, fmt: str | None, source: str | None, context: SourceContext,
                 limit: int | None = None, lookups: dict[str, Path] | None = None) -> None:
        if not path.exists():
            raise InputError(f"input file {path} not found")
        self.path = path
        self.files = [path]
        self._temporary: list[Path] = []
        self.reading = "JSONL"
        if path.is_dir():  # Airbyte's raw files: one per stream
            self.files = sorted(p for p in path.iterdir() if p.name.endswith((".jsonl", ".jsonl.gz")))
            if not self.files:
                raise InputError(f"{path} is a folder without .jsonl files (Airbyte raw files are _airbyte_raw_<stream>.jsonl)")
            fmt, self.reading = fmt or "jsonl", f"a folder of {len(self.files)} per-stream JSONL files"
        elif fmt != "csv":
            fmt = self._read_as(path, fmt)
        try:
            self.format = detect_format(str(self.files[0]), fmt)
        except UsageError as exc:
            raise InputError(str(exc)) from None
        # --users/--agents/--groups/--fields files (or the source API's, cached): kind -> JSONL
        self.lookups = dict(lookups or {})
        for kind, given in self.lookups.items():
            if not given.exists():
                raise InputError(f"--{kind} {given} not found")
        as_given = path.is_dir() or self.files[0] == path  # a JSON document was rewritten as our own messages
        if self.format == "jsonl" and as_given and (written_by := self._protocol()):
            self.reading += f", {written_by}"
        self.limit = limit
        self.context = context
        self.source = source or self.detect_source()
        self.source_detected = source is None
        self._convert = converter(self.source, self.format)
        self._singer: singer.SingerIndex | None = None
        self.is_stream = False  # Singer/Airbyte messages (parents joined with children), not plain records

    def _read_as(self, path: Path, fmt: str | None) -> str | None:
        """JSON documents become JSONL (streamed); a name without a known extension is sniffed."""
        try:
            named = detect_format(str(path), fmt)
        except UsageError:
            named = None
        if named not in (None, "jsonl"):
            return fmt
        kind = documents.sniff(path)
        if kind == "csv":
            self.reading = "CSV (by its content)"
            return "csv" if named is None else fmt
        if kind == "document":
            self.files = [self._document(path)]
            self.reading = "a JSON document (streamed)"
        elif named is None:
            self.reading = "JSONL (by its content)"
        return "jsonl"

    def _document(self, path: Path) -> Path:
        """`path` as JSONL: a JSON document streamed into a temporary file; JSONL as it is."""
        if not path.exists():
            raise InputError(f"{path} not found")
        if documents.sniff(path) != "document":
            return path
        converted = documents.to_jsonl(path)
        self._temporary.append(converted)
        return converted

    def _protocol(self) -> str | None:
        """The connector that wrote the input, from its first line that parses."""
        for _, raw in jsonl.read_lines(self.files[0]):
            try:
                return singer.protocol(orjson.loads(raw))
            except orjson.JSONDecodeError:
                continue
        return None

    def detect_source(self) -> str:
        """The source, from the first record that parses."""
        if self.format == "csv":
            for _, row in csv_format.read_rows(self.path):
                return detect(row, "csv")
            return "helpspace"
        first: list[Any] = []
        for _, _, message in self._messages():
            if isinstance(message, bytes):
                continue
            first.append(message)
            if not singer.is_singer(first[0]):
                return detect(first[0], "jsonl")
            if len(first) >= SINGER_DETECT_LINES:
                break
        if first and singer.is_singer(first[0]):
            by_streams = singer.detect(first)
            parent = next((m.get("record") for m in first if m.get("stream") in ("tickets", "conversations")), None)
            by_shape = detect(parent, "jsonl") if isinstance(parent, dict) else "helpspace"
            return by_shape if by_shape in singer.STREAMS else (by_streams or "helpspace")
        return "helpspace"

    def _messages(self) -> Iterator[tuple[Path, int, Any]]:
        """(file, line, message) of every JSONL line of every input file, Airbyte shapes normalised;
        a line that isn't JSON comes as its raw bytes."""
        for path in self.files:
            stream = singer.stream_of_file(path)
            for line, raw in jsonl.read_lines(path):
                try:
                    yield path, line, singer.normalise(orjson.loads(raw), stream)
                except orjson.JSONDecodeError:
                    yield path, line, raw

    def index_streams(self) -> None:
        """Singer/Airbyte output: index child streams and lookups (users, agents, groups,
        fields) so parents can be joined and ids resolved; with --users/--agents/--groups/
        --fields files, the lookups of a plain export (or a CSV) too."""
        if self.source not in singer.STREAMS:
            return
        index: singer.SingerIndex | None = None
        for _, _, message in self._messages() if self.format == "jsonl" else ():
            if isinstance(message, bytes):
                continue
            if not singer.is_singer(message):
                break  # plain records, not streams: nothing to index (the first line tells)
            self.is_stream = True
            if index is None:
                index = singer.SingerIndex(self.source)
            index.add(message)
        if index is not None:
            index.finish_indexing()
            self._singer = index
            self.context.lookup = index.lookup
        self.add_lookups(self.lookups)

    def add_lookups(self, files: dict[str, Path]) -> None:
        """Index users/agents/groups/fields files (given, or fetched from the source API)."""
        if not files or self.source not in singer.STREAMS:
            return
        index = self._index()
        for kind, path in files.items():
            for _, raw in jsonl.read_lines(self._document(path)):
                item = singer.normalise(orjson.loads(raw), kind)
                index.add(item if singer.is_singer(item) else {"type": "RECORD", "stream": None, "record": item}, kind)
        index.commit()

    def add_children(self, stream: str, path: Path) -> None:
        """Index child records (e.g. Help Scout threads fetched from its API) to join to their parents."""
        if self.source not in singer.STREAMS:
            return
        index = self._index()
        for _, raw in jsonl.read_lines(path):
            index.add({"type": "RECORD", "stream": stream, "record": orjson.loads(raw)})
        index.commit()

    def _index(self) -> singer.SingerIndex:
        """The on-disk index, made now when the input itself had nothing to index."""
        if self._singer is None:
            self._singer = singer.SingerIndex(self.source)
            self._singer.finish_indexing()
            self.context.lookup = self._singer.lookup
        return self._singer

    def lookup_counts(self) -> dict[str, int]:
        """Users, agents, groups and fields the input offered, by kind (for the report)."""
        return dict(self._singer.counts) if self._singer is not None else {}

    def close(self) -> None:
        if self._singer is not None:
            self._singer.close()
            self._singer = None
        for path in self._temporary:
            path.unlink(missing_ok=True)
        self._temporary = []

    def __iter__(self) -> Iterator[Row | Unreadable | SkippedRecord]:
        items = self._csv() if self.format == "csv" else self._jsonl()
        for count, item in enumerate(items):
            if self.limit is not None and count >= self.limit:
                return
            yield item

    def _csv(self) -> Iterator[Row | Unreadable | SkippedRecord]:
        rows = csv_format.read_rows(self.path)
        while True:
            try:
                line, row = next(rows)
            except StopIteration:
                return
            except (UnicodeDecodeError, csv.Error, ValueError) as exc:
                # the csv module can't resynchronise after this; say where it stopped
                yield Unreadable(-1, f"the CSV can't be read past this point: {exc}", None)
                return
            if None in row:
                surplus = row.pop(None)  # type: ignore[call-overload]
                yield Unreadable(line, "this row has more cells than the header has columns",
                                 {**row, "(surplus cells)": surplus})
                continue
            yield self._row(line, row, csv_row=True)

    def _jsonl(self) -> Iterator[Row | Unreadable | SkippedRecord]:
        for path, line, record in self._messages():
            if isinstance(record, bytes):
                try:
                    orjson.loads(record)
                    detail = ""
                except orjson.JSONDecodeError as exc:
                    detail = f" ({exc})"
                where = f"{path.name}: " if len(self.files) > 1 else ""
                yield Unreadable(line, f"{where}not valid JSON{detail}", record.decode("utf-8", "replace")[:10_000])
                continue
            if self._singer is not None and self.is_stream:
                record = self._singer.parent(record) if isinstance(record, dict) else record
                if record is None:
                    continue  # schema, state, children and users: joined into their parents
            elif self._singer is not None and self._singer.has_children and isinstance(record, dict):
                record = self._singer.attach(dict(record))  # children fetched from the source's API
            yield self._row(line, record, csv_row=False)

    def _row(self, line: int, raw: Any, *, csv_row: bool) -> Row | Unreadable | SkippedRecord:
        try:
            if self._convert is not None:
                mapped = self._converted(raw)
                return Row(line, mapped.record, raw, mapped.skipped_notes, mapped.flags, mapped.unresolved)
            if csv_row:
                return Row(line, from_csv_row(raw), raw)
            if not isinstance(raw, dict):
                return Unreadable(line, "a record must be a JSON object", raw)
            return Row(line, raw, raw)
        except Rejected as exc:
            return Unreadable(line, exc.reason, raw, exc.unresolved)
        except Skipped as exc:
            return SkippedRecord(line, exc.reason)

    def _converted(self, raw: Any) -> SourceRecord:
        """One source record mapped by the adapter; any failure is this record's rejection."""
        assert self._convert is not None
        if not isinstance(raw, dict):
            raise Rejected("a record must be a JSON object")
        try:
            return self._convert(raw, self.context)
        except (Rejected, Skipped):
            raise
        except Exception as exc:  # a shape the adapter did not expect
            raise Rejected(f"not a {self.source} record this importer understands: {type(exc).__name__}: {exc}") from None

"""People input -> customer or organization records, streamed, with line numbers.

Our own exports (`helpspace export customers`) as they are; other helpdesks' people
through `sources/people.py`: a file of one kind (JSONL, a JSON array, an API document
such as `{"users": [...]}`), or a connector's output holding every stream (Singer,
Airbyte messages, an Airbyte raw-files folder), from which the kind's streams are taken.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from ..errors import InputError, Rejected, Skipped
from ..formats import jsonl
from ..import_ import documents
from ..sources import people as adapters
from ..sources import singer
from .kinds import Kind

DETECT_LINES = 500  # messages read to tell the source from its stream names


@dataclass(frozen=True)
class PersonRow:
    line: int
    record: dict[str, Any] | None  # None: see `problem`
    original: Any
    problem: Rejected | Skipped | None = None


class PeopleReader:
    """The records of `kind` in one input, mapped from `source` (detected when None)."""

    def __init__(self, path: Path, kind: Kind, source: str | None = None) -> None:
        if not path.exists():
            raise InputError(f"input file {path} not found")
        self.kind = kind
        self._temporary: list[Path] = []
        self.folder = path.is_dir()  # Airbyte raw files: each file names its stream
        if self.folder:
            self.files = sorted(p for p in path.iterdir() if p.name.endswith((".jsonl", ".jsonl.gz")))
        elif documents.sniff(path) == "document":
            self.files = [documents.to_jsonl(path)]
            self._temporary = list(self.files)
        else:
            self.files = [path]
        if not self.files:
            raise InputError(f"{path} is a folder without .jsonl files")
        streams, first = self._peek()
        self.is_stream = bool(streams)
        self.source = source or adapters.detect(streams, first)
        if self.source != "helpspace" and self.source not in adapters.ADAPTERS:
            raise InputError(f"{kind.name} from {self.source} are not supported (zendesk, freshdesk, helpscout)")
        self.adapter = adapters.ADAPTERS.get(self.source, {}).get(kind.name) if self.source != "helpspace" else None
        if self.source != "helpspace" and self.adapter is None:
            raise InputError(f"{self.source} has no {kind.name} to import (it has: "
                             f"{', '.join(adapters.ADAPTERS[self.source])})")
        self.streams = adapters.STREAMS.get(self.source, {}).get(kind.name, ())

    def _messages(self) -> Iterator[tuple[int, Any]]:
        for path in self.files:
            stream = singer.stream_of_file(path) if self.folder else None
            for line, raw in jsonl.read_lines(path):
                try:
                    yield line, singer.normalise(orjson.loads(raw), stream)
                except orjson.JSONDecodeError as exc:
                    yield line, Rejected(f"not valid JSON ({exc})")

    def _peek(self) -> tuple[set[str], dict[str, Any] | None]:
        streams: set[str] = set()
        first = None
        for _, message in islice(self._messages(), DETECT_LINES):
            if singer.is_singer(message):
                if message.get("type") == "RECORD" and message.get("stream"):
                    streams.add(str(message["stream"]))
            elif isinstance(message, dict) and first is None:
                first = message
        return streams, first

    def __iter__(self) -> Iterator[PersonRow]:
        for line, message in self._messages():
            if isinstance(message, Rejected):
                yield PersonRow(line, None, None, message)
                continue
            if self.is_stream:
                if not (singer.is_singer(message) and message.get("type") == "RECORD"
                        and message.get("stream") in self.streams):
                    continue  # other streams: tickets, comments, or the other kind
                message = message.get("record")
            yield self._row(line, message)

    def _row(self, line: int, raw: Any) -> PersonRow:
        if not isinstance(raw, dict):
            return PersonRow(line, None, raw, Rejected("a record must be a JSON object"))
        if self.adapter is None:
            return PersonRow(line, raw, raw)
        try:
            return PersonRow(line, self.adapter(raw), raw)
        except (Rejected, Skipped) as exc:
            return PersonRow(line, None, raw, exc)
        except Exception as exc:  # a shape the adapter did not expect
            return PersonRow(line, None, raw, Rejected(f"not a {self.source} record this importer understands: "
                                                       f"{type(exc).__name__}: {exc}"))

    def close(self) -> None:
        for path in self._temporary:
            path.unlink(missing_ok=True)

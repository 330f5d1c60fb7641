"""JSONL: one JSON object per line, UTF-8, exactly as the API sent it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from ..files import open_text_lines


def encode(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record) + b"\n"


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, raw line) for every non-blank line; streamed."""
    with open_text_lines(path) as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                yield number, line


def read_ids(path: Path) -> Iterator[int]:
    """Ticket ids in an (exported) JSONL file, for resuming."""
    for _, line in read_lines(path):
        yield orjson.loads(line)["id"]

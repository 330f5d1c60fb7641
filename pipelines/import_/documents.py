"""Input files as people have them: JSON documents turned into JSONL, streamed.

Zendesk's help centre shows exports as one JSON array; its API answers
`{"tickets": [...], "users": [...]}` (users side-loaded); other tools wrap records the
same way. Such a document is streamed (ijson: never loaded whole) into a temporary JSONL
file: a bare array becomes one record a line; a wrapper object becomes Singer-style
RECORD lines, one stream per array (`tickets`, `users`, `groups`, ...), so side-loaded
users are joined to the tickets that name them by id, like a tap's streams. A file whose
name says nothing (`export_2026_11_20_abc123_1`) is sniffed: JSON, JSONL or CSV.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import IO, Any

import ijson
import orjson

from ..files import open_text_lines

RECORD_ARRAYS = ("tickets", "conversations", "results", "data", "records", "items",  # records, and what they name:
                 "users", "agents", "contacts", "groups", "ticket_fields", "organizations", "companies", "customers")
MAX_FIRST_LINE = 256 * 1024 * 1024  # a JSONL line may carry 5 MB of attachments several times over


def sniff(path: Path) -> str:
    """`document` (a JSON array or one wrapper object), `jsonl`, or `csv`, from the first line(s)."""
    with open_text_lines(path) as fh:
        first_line = fh.readline(MAX_FIRST_LINE)
        while first_line and not first_line.strip():
            first_line = fh.readline(MAX_FIRST_LINE)
        more = bool(fh.readline(1).strip())
    text = first_line.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"["):
        return "document"
    if text.startswith(b"{"):
        try:
            first = orjson.loads(text)
        except orjson.JSONDecodeError:
            return "document"  # an object spread over lines: one pretty-printed document
        wrapped = (isinstance(first, dict) and not {"id", "subject"} & set(first)  # a record has those; a wrapper doesn't
                   and any(isinstance(first.get(k), list) for k in RECORD_ARRAYS))
        return "document" if wrapped and not more else "jsonl"
    return "csv"


def to_jsonl(path: Path) -> Path:
    """A temporary JSONL file with the document's records (the caller deletes it)."""
    out = tempfile.NamedTemporaryFile(prefix="helpspace-document-", suffix=".jsonl", delete=False)
    with open_text_lines(path) as fh, out:
        first = _first_char(fh)
        fh.seek(0)
        if first == b"[":
            for item in ijson.items(fh, "item", use_float=True):
                out.write(orjson.dumps(item) + b"\n")
        else:
            _wrapped(fh, out)
    return Path(out.name)


def _first_char(fh: IO[bytes]) -> bytes:
    while (char := fh.read(1)) in (b" ", b"\t", b"\r", b"\n", b"\xef", b"\xbb", b"\xbf"):
        pass
    return char


def _wrapped(fh: IO[bytes], out: IO[bytes]) -> None:
    """`{"tickets": [...], "users": [...]}` -> RECORD lines per array, in one streaming pass."""
    builder: Any = None
    stream: str | None = None
    for prefix, event, value in ijson.parse(fh, use_float=True):
        if builder is None:
            if event == "start_array" and prefix and "." not in prefix:
                stream = prefix  # a top-level array: its items are records of that stream
            elif event == "start_map" and stream is not None and prefix == f"{stream}.item":
                builder = ijson.ObjectBuilder()
                builder.event(event, value)
            elif event == "end_array" and prefix == stream:
                stream = None
            continue
        builder.event(event, value)
        if event == "end_map" and prefix == f"{stream}.item":
            out.write(orjson.dumps({"type": "RECORD", "stream": stream, "record": builder.value}) + b"\n")
            builder = None

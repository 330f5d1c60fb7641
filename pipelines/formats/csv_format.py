"""CSV: one ticket a row, nested objects in dotted columns, a stable documented order.

Column order (never reordered; new columns are only ever appended):
    id, subject, status, channel.id, channel.name, channel.value, channel.type,
    from_contact.id, from_contact.user_id, from_contact.name, from_contact.value,
    from_contact.type, assignee.id, assignee.name, assignee.email, team.id, team.name,
    creator, tags, last_contact, created_at, updated_at, deleted_at, extra
and `messages` last with --with-messages. Lists and objects without columns of their
own (`tags`, `creator`, `messages`) are JSON; fields the API adds later go into
`extra` as a JSON object, so nothing is dropped. Null is an empty cell.

Spreadsheets run cells that start with = + - @ as formulas; by default such text
cells get a leading apostrophe (OWASP's advice). JSONL is the lossless format.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from ..files import open_text_lines
from .fields import TICKET_FIELDS, Field, flat_columns

COLUMNS = [name for name, _ in flat_columns(with_messages=False)]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_FIELD_BYTES = 64 * 1024 * 1024  # above the API's 5 MB limits, so big cells are rejected by rule, not by csv


def columns(with_messages: bool, fields: tuple[Field, ...] = TICKET_FIELDS) -> list[str]:
    return [name for name, _ in flat_columns(with_messages, fields)]


def _cell(value: Any, guard: bool) -> str:
    if value is None:
        return ""
    kind = type(value)
    if kind is str:
        return "'" + value if guard and value and value[0] in FORMULA_FIRST else value
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return str(value)
    if kind is list or kind is dict:
        return orjson.dumps(value).decode()
    text = str(value)
    return "'" + text if guard and text and text[0] in FORMULA_FIRST else text


JSON_KINDS = {"tags", "json", "json object", "json array"}  # written as JSON, never formula-guarded
FORMULA_FIRST = frozenset(FORMULA_STARTS)
Plan = tuple[list[tuple[str, str, bool]], frozenset[str]]
_PLANS: dict[tuple[int, bool], Plan] = {}


def _plan(with_messages: bool, fields: tuple[Field, ...] = TICKET_FIELDS) -> Plan:
    """(head, tail, is text) per column and the known top-level names, computed once per field list."""
    key = (id(fields), with_messages)  # the field lists are module constants
    if key not in _PLANS:
        cols = flat_columns(with_messages, fields)
        steps = [(c.partition(".")[0], c.partition(".")[2], kind not in JSON_KINDS) for c, kind in cols]
        _PLANS[key] = (steps, frozenset(c.split(".")[0] for c, _ in cols))
    return _PLANS[key]


def flatten(ticket: dict[str, Any], *, with_messages: bool, guard: bool = True, plan: Plan | None = None) -> list[str]:
    """The row of one ticket (or customer, organization: pass its `plan`), in `columns()` order."""
    steps, known = plan or _plan(with_messages)
    row: list[str] = []
    append = row.append
    get = ticket.get
    for head, tail, text in steps:
        if tail:
            parent = get(head)
            value = parent.get(tail) if type(parent) is dict else None
        elif head == "extra":
            extra = None if ticket.keys() <= known else {k: v for k, v in ticket.items() if k not in known}
            append(orjson.dumps(extra).decode() if extra else "")
            continue
        else:
            value = get(head)
        append(_cell(value, guard and text))
    return row


class CsvEncoder:
    """Turns tickets into RFC 4180 CSV bytes (CRLF line ends, quotes doubled)."""

    def __init__(self, *, with_messages: bool, guard: bool = True, fields: tuple[Field, ...] = TICKET_FIELDS) -> None:
        self.with_messages = with_messages
        self.guard = guard
        self.fields = fields
        self._plan = _plan(with_messages, fields)
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")

    def _take(self) -> bytes:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode("utf-8")

    def header(self) -> bytes:
        self._writer.writerow(columns(self.with_messages, self.fields))
        return self._take()

    def encode(self, ticket: dict[str, Any]) -> bytes:
        return self.encode_many([ticket])

    def encode_many(self, tickets: list[dict[str, Any]]) -> bytes:
        plan = self._plan
        self._writer.writerows(flatten(t, with_messages=self.with_messages, guard=self.guard, plan=plan) for t in tickets)
        return self._take()


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(1-based line number of the row's start, row) streamed; rows may span lines."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_BYTES))
    with open_text_lines(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.DictReader(text)
        if reader.fieldnames is None:
            return
        line = reader.line_num + 1
        for row in reader:
            yield line, row
            line = reader.line_num + 1


def read_ids(path: Path) -> Iterator[int]:
    for _, row in read_rows(path):
        yield int(row["id"])

"""Source adapters: what another helpdesk exported -> this project's import records.

Each adapter maps one source record to an import record (the create body plus
`external_id`, follow-up messages, attachment URLs to download, an assignee email
to match). `detect` guesses the source from the first record's shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import freshdesk, generic, helpscout, zendesk
from .common import SourceContext, SourceRecord

SOURCES = ("zendesk", "freshdesk", "helpscout", "helpspace", "generic")
Converter = Callable[[dict[str, Any], SourceContext], SourceRecord]


def converter(source: str, fmt: str) -> Converter | None:
    """The function mapping one record of `source` in `fmt` (jsonl/csv); None means as is."""
    if source == "zendesk":
        return zendesk.convert_csv if fmt == "csv" else zendesk.convert
    if source == "freshdesk":
        return freshdesk.convert
    if source == "helpscout":
        return helpscout.convert
    if source == "generic":
        return generic.convert
    return None  # helpspace: the create format or our own export


def detect(record: Any, fmt: str) -> str:
    """Guess the source from the shape of one record."""
    if not isinstance(record, dict):
        return "helpspace"
    keys = {k.strip().lower() for k in record} if fmt == "csv" else set(record)
    if fmt == "csv":
        return "zendesk" if {"requester email", "subject"} <= keys or {"requester", "group", "via"} <= keys else "helpspace"
    zendesk_shape = {"comments", "raw_subject", "via"} & keys or ("requester" in keys and isinstance(record.get("status"), str))
    if set(record) == {"ticket"} or zendesk_shape:
        return "zendesk"
    if {"primaryCustomer", "primary_customer", "mailboxId", "mailbox_id"} & keys or "threads" in keys and "number" in keys:
        return "helpscout"
    if {"conversations", "requester_id", "responder_id", "description_text"} & keys and isinstance(record.get("status"), int):
        return "freshdesk"
    return "helpspace"

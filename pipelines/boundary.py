"""Server data, checked once where it enters: what we use of each object has the shape we use.

Every listing's items pass through here before anything is written, named or decided from
them. An item that fails is left out and listed (the export ends with exit 3 and the
manifest says what and why), never a traceback further down (a Parquet column, a path, a
journal key). Only what the pipelines use is checked; unknown fields are kept as they are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def _is_id(value: Any) -> bool:
    return type(value) is int and value >= 0  # bool is not an id


def _is_date(value: Any) -> bool:
    if value is None:
        return True
    if type(value) is not str:
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _optional(value: Any, kind: type) -> bool:
    return value is None or isinstance(value, kind)


def ticket_problem(ticket: Any) -> str | None:
    """Why a ticket can't be kept as the API describes it (None: it can)."""
    if not isinstance(ticket, dict):
        return f"a ticket must be a JSON object, not {type(ticket).__name__}"
    if not _is_id(ticket.get("id")):
        return "ticket ids must be whole numbers"
    for name in ("status", "subject"):
        if not _optional(ticket.get(name), str):
            return f"{name} must be text"
    for name in ("created_at", "updated_at", "last_contact"):
        if not _is_date(ticket.get(name)):
            return f"{name} must be a date"
    for name in ("from_contact", "assignee", "team", "channel"):
        if not _optional(ticket.get(name), dict):
            return f"{name} must be an object"
    tags = ticket.get("tags")
    if not _optional(tags, list) or any(not isinstance(t, (str, dict)) for t in tags or ()):
        return "tags must be a list of names or tag objects"
    return None


def person_problem(record: Any, kind: str) -> str | None:
    """Why a customer or organization can't be kept (None: it can)."""
    if not isinstance(record, dict):
        return f"{kind} must be JSON objects, not {type(record).__name__}"
    if not _is_id(record.get("id")):
        return f"{kind} ids must be whole numbers"
    for name in ("created_at", "updated_at"):
        if not _is_date(record.get(name)):
            return f"{name} must be a date"
    for name in ("name", "email"):
        if not _optional(record.get(name), str):
            return f"{name} must be text"
    return None


def tag_problem(tag: Any) -> str | None:
    """Why a tag can't be backed up and restored (None: it can)."""
    if not isinstance(tag, dict):
        return "a tag must be a JSON object"
    name = tag.get("name")
    if not isinstance(name, str) or not name.strip():
        return "a tag needs a name"
    if not _optional(tag.get("type"), str):
        return "a tag's type must be text"
    return None


def shown_id(item: Any) -> str:
    """An item's id for a report, whatever it is (never trusted, never longer than a line)."""
    return repr(item.get("id") if isinstance(item, dict) else item)[:80]


def attachment_problem(attachment: dict[str, Any], size: int, head: bytes) -> str | None:
    """Why downloaded bytes are not the file the API announced (None: they are): another size, or
    an HTML or JSON page (a login page, an error) where another type was announced."""
    announced = attachment.get("size")
    if type(announced) is int and announced >= 0 and announced != size:
        return f"{size:,} bytes arrived where {announced:,} were announced (cut off, or another file)"
    mime = str(attachment.get("mime_type") or "").lower()
    start = head.lstrip()[:15].lower()
    if start.startswith((b"<!doctype html", b"<html")) and "html" not in mime:
        return f"an HTML page arrived where {mime or 'a file'} was announced (a login or error page?)"
    if start.startswith(b"{") and "json" not in mime and not mime.startswith("text/"):
        try:
            import orjson

            orjson.loads(head)
        except ValueError:
            return None
        return f"a JSON document arrived where {mime or 'a file'} was announced (an error answer?)"
    return None

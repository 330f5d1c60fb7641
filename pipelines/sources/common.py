"""What every source adapter shares: the record it returns, context, dates, footers,
notes, teams and tags."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from ..errors import Rejected
from ..import_.records import AUTHOR_LINE, NOTE_TYPE, TEAM_NAME_MAX, set_dotted

__all__ = ["set_dotted"]  # adapters use the one dotted-path setter records.py owns

PLACEHOLDER = "<p><em>(The source export carried no message text for this ticket.)</em></p>"


@dataclass
class SourceRecord:
    """What an adapter makes of one source record: an import record and what to report."""

    record: dict[str, Any]  # the create body plus external_id, follow_ups, assignee email
    skipped_notes: int = 0  # private notes left out (--include-notes brings them)
    flags: list[str] = field(default_factory=list)  # e.g. "placeholder body"


@dataclass
class SourceContext:
    """Options that shape how a source's records are mapped."""

    source_tz: str = "UTC"
    status_map: dict[str, str] = field(default_factory=dict)  # overrides, source value -> HelpSpace status
    include_notes: bool = False
    channel_id: int = 1
    mapping: dict[str, Any] | None = None  # generic adapter only
    lookup_user: Any = None  # id -> user record (a tap's users stream), when the source gives only ids

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.source_tz)


def to_iso(value: Any, ctx: SourceContext, where: str) -> str | None:
    """ISO 8601 with an offset: epoch seconds, ISO with Z/offset, or a local time in --source-tz."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc).isoformat()
    text = str(value).strip().replace("Z", "+00:00")
    for candidate in (text, text.replace(" ", "T", 1)):
        try:
            parsed = datetime.fromisoformat(candidate)
            break
        except ValueError:
            continue
    else:
        for fmt in ("%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M"):
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            raise Rejected(f"{where} is not a date: {value!r}", {where: ["unreadable date"]})
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ctx.tz)
    return parsed.astimezone(timezone.utc).isoformat()


def footer(body: str, source: str, source_id: Any) -> str:
    """Every imported ticket says where it came from, so it can be traced back."""
    return f"{body}\n<p><small>Imported from {source} #{html.escape(str(source_id))}</small></p>"


def text_to_html(text: str) -> str:
    return "<p>" + html.escape(text).replace("\n", "<br>") + "</p>"


def status(value: Any, table: dict[str, str], ctx: SourceContext, source: str) -> tuple[str, list[str]]:
    """(HelpSpace status, extra tags) from a source status; unknown ones stay open and are tagged."""
    key = str(value).lower() if value is not None else ""
    if key in ctx.status_map:
        return ctx.status_map[key], []
    if key in table:
        mapped = table[key]
        return (mapped.split("+")[0], [mapped.split("+")[1]] if "+" in mapped else [])
    return "open", [f"{source}-status-{key or 'none'}"]


def tag_safe(value: Any) -> str:
    return str(value).strip().lower().replace(" ", "-")


def dig(obj: Any, path: str) -> Any:
    """`dig(x, "a.b.0.c")`: a dotted path through dicts and lists; None when absent."""
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj.get(part)
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return None
    return obj


def field_tags(fields: Any) -> list[str]:
    """Custom fields as tags (`field-<name>-<value>`): lists of {id|name, value|text} or a {name: value} map."""
    pairs: list[tuple[Any, Any]] = []
    if isinstance(fields, dict):
        pairs = list(fields.items())
    elif isinstance(fields, list):
        pairs = [(f.get("name") or f.get("id"), f.get("value", f.get("text"))) for f in fields if isinstance(f, dict)]
    tags = []
    for name, value in pairs:
        if value in (None, "", False, [], {}) or isinstance(value, (dict, list)):
            continue
        tags.append(f"field-{tag_safe(name)}-{tag_safe(value)}"[:64])
    return tags


def as_dict(value: Any) -> dict[str, Any]:
    """`value` when it is an object, else an empty one: sources leave out or null what they like."""
    return value if isinstance(value, dict) else {}


def team(name: Any) -> dict[str, str] | None:
    """A source group as a HelpSpace team (names are cut to the API's 14 characters)."""
    return {"name": str(name)[:TEAM_NAME_MAX]} if name else None


def follow_ups(items: Iterable[dict[str, Any]], ctx: SourceContext, *, is_note: Callable[[dict[str, Any]], bool],
               message: Callable[[dict[str, Any]], dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Follow-up messages in order; private notes become internal messages only with --include-notes.

    Returns the messages and how many notes were left out.
    """
    out, skipped = [], 0
    for item in items:
        note = is_note(item)
        if note and not ctx.include_notes:
            skipped += 1
            continue
        out.append({**message(item), "type": NOTE_TYPE if note else "external"})
    return out, skipped



def with_author(body: str, name: Any, email: Any, role: str) -> str:
    """A follow-up's body with who wrote it (customer or agent) as its last line."""
    who = " ".join(str(x) for x in (name, f"<{email}>" if email else None) if x)
    return body + "\n" + AUTHOR_LINE.format(author=html.escape(f"{who}, {role}" if who else role))

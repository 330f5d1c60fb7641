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
    unresolved: list[tuple[str, str]] = field(default_factory=list)  # ("assignee", "7"): named, not found


@dataclass
class SourceContext:
    """Options that shape how a source's records are mapped."""

    source_tz: str = "UTC"  # the CLI asks for it explicitly where a source writes local times
    status_map: dict[str, str] = field(default_factory=dict)  # overrides, source value -> HelpSpace status
    include_notes: bool = False
    channel_id: int = 1
    mapping: dict[str, Any] | None = None  # generic adapter only
    lookup: Callable[[str, Any], dict[str, Any] | None] | None = None  # (kind, id) -> record: users, agents, ...

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.source_tz)

    def find(self, kind: str, key: Any) -> dict[str, Any]:
        """The `kind` record (users, agents, groups, fields, organizations) with this id; {} when
        the input gave none (no stream, side-loaded array, file or source API had it)."""
        if key is None or key == "" or self.lookup is None:
            return {}
        return as_dict(self.lookup(kind, key))


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


def field_tags(fields: Any, ctx: SourceContext | None = None,
               unresolved: list[tuple[str, str]] | None = None) -> list[str]:
    """Custom fields as tags, `field-<label>-<value label>`: lists of {id|name, value|text} or a
    {name: value} map. Labels come from the field definitions when the input gave them (a
    ticket_fields stream, --fields FILE, the source API); else the field's id or API name,
    and the field is listed in `unresolved` when only an id or API name (`cf_...`) named it."""
    pairs: list[tuple[Any, Any, bool]] = []  # (key, value, named by a human label)
    if isinstance(fields, dict):
        pairs = [(k, v, not str(k).startswith("cf_")) for k, v in fields.items()]
    elif isinstance(fields, list):
        pairs = [(f.get("name") or f.get("id"), f.get("text", f.get("value")), bool(f.get("name")))
                 for f in fields if isinstance(f, dict)]
    tags = []
    for name, value, labelled in pairs:
        values = [one for one in (value if isinstance(value, list) else [value])  # a multi-select: a tag per option
                  if one not in (None, "", False) and not isinstance(one, (dict, list))]
        definition = ctx.find("fields", name) if ctx and values else {}
        if values and not definition and not labelled and unresolved is not None:
            unresolved.append(("field", str(name)))
        label = field_label(definition) or name
        tags += [f"field-{tag_safe(label)}-{tag_safe(option_label(definition, one))}"[:64] for one in values]
    return tags


def field_label(definition: dict[str, Any]) -> str | None:
    """A field's human name: Zendesk `title`, Freshdesk `label`."""
    return definition.get("title") or definition.get("label") or None


def option_label(definition: dict[str, Any], value: Any) -> Any:
    """A drop-down value's label: Zendesk `custom_field_options` [{name, value}]; Freshdesk
    `choices` as {label: value} or [label, ...]. The value itself when there is none."""
    options = definition.get("custom_field_options")
    if isinstance(options, list):
        for option in options:
            if isinstance(option, dict) and str(option.get("value")) == str(value):
                return option.get("name") or value
    choices = definition.get("choices")
    if isinstance(choices, dict):
        for label, choice in choices.items():
            if str(choice) == str(value):
                return label
    return value


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

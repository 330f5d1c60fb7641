"""Input records -> HelpSpace create bodies: pure mapping and checks, no I/O.

A record is the API's create body plus an optional `external_id`, or a ticket as
`helpspace export tickets --with-messages` writes it, or a CSV row with dotted
columns. Everything is checked here so a bad record is rejected with a reason
before anything is sent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import orjson

from helpspace_async.protocol import TICKET_STATUSES

from ..errors import Rejected

PUBLIC_TYPES = {"external", "widget", "forward"}
TEAM_NAME_MAX = 14
# Assumed, unverified against the real API (see README): a follow-up message may carry
# `type: "internal"` for a private note, and `created_at`. Kept here, in one place.
NOTE_TYPE = "internal"
# Assumed: the messages endpoint has no documented author field for a follow-up, so who
# wrote it is said in the body, as a last line. One template, here.
AUTHOR_LINE = "<p><small>— {author}</small></p>"  # author: "Name <email>, agent" or just "customer"


@dataclass
class Attachment:
    """One attachment to send: inline base64 `data`, or a `path` still to be read."""

    name: str
    mime_type: str | None = None
    data: str | None = None
    path: str | None = None
    url: str | None = None  # on the old helpdesk: downloaded at import time
    url_wraps_base64: bool = False  # the URL answers JSON {"data": "<base64>"} (Help Scout's data.href)
    source_id: str | None = None  # the source's id for it: an expired link is renewed by asking the source


@dataclass
class Message:
    body: str
    attachments: list[Attachment] = field(default_factory=list)
    created_at: str | None = None
    type: str = "external"


@dataclass
class Plan:
    """What one input record becomes: a create, then follow-up messages in order."""

    key: str
    ticket: dict[str, Any]  # the create body without `message`
    message: Message
    follow_ups: list[Message] = field(default_factory=list)
    skipped_notes: int = 0
    assignee_email: str | None = None  # matched to an agent id by the importer
    flags: list[str] = field(default_factory=list)  # e.g. "placeholder body"

    @property
    def subject(self) -> str:
        return self.ticket["subject"]

    @property
    def email(self) -> str:
        return self.ticket["from_contact"]["email"]

    @property
    def source_ticket(self) -> str | None:
        """The ticket's id on the helpdesk it came from (`ext:freshdesk:501` -> `501`)."""
        parts = self.key.split(":", 2)
        return parts[2] if len(parts) == 3 and parts[0] == "ext" else None


def record_key(record: dict[str, Any]) -> str:
    """`external_id` when the source has one, else a hash of the record's content."""
    ext = record.get("external_id")
    if ext not in (None, ""):
        return f"ext:{ext}"
    return "sha256:" + hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def exported_key(ticket_id: Any) -> str:
    """The journal key of a ticket from `helpspace export` (its id on the helpdesk it came from)."""
    return record_key({"external_id": f"helpspace:{ticket_id}"})


def iso_datetime(value: Any, field_name: str) -> str:
    """ISO 8601 with an offset; a value without one is taken as UTC."""
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        raise Rejected(f"{field_name} is not a date: {value!r}", {field_name: ["not an ISO 8601 date"]}) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.isoformat()


def _attachments(raw: Any, where: str) -> list[Attachment]:
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        raw = [{"path": p.strip()} for p in raw.split(";") if p.strip()]
    if not isinstance(raw, list):
        raise Rejected(f"{where} must be a list", {where: ["must be a list"]})
    out = []
    for i, a in enumerate(raw):
        if not isinstance(a, dict) or not (a.get("data") or a.get("path") or a.get("url")):
            raise Rejected(f"{where}.{i} needs data (base64), path or url", {f"{where}.{i}": ["needs data, path or url"]})
        source = str(a.get("path") or a.get("url") or "").split("?")[0]
        name = a.get("name") or source.replace("\\", "/").rstrip("/").split("/")[-1] or "attachment"
        out.append(Attachment(name=str(name), mime_type=a.get("mime_type"), data=a.get("data"), path=a.get("path"),
                              url=None if a.get("data") or a.get("path") else a.get("url"),
                              url_wraps_base64=a.get("encoding") == "json-base64",
                              source_id=str(a["source_id"]) if a.get("source_id") is not None else None))
    return out


def _message(raw: dict[str, Any], where: str) -> Message:
    body = raw.get("body")
    if not isinstance(body, str) or not body.strip():
        raise Rejected(f"{where}.body is missing", {f"{where}.body": ["required"]})
    created = raw.get("created_at")
    return Message(
        body=body,
        attachments=_attachments(raw.get("attachments"), f"{where}.attachments"),
        created_at=iso_datetime(created, f"{where}.created_at") if created else None,
        type=str(raw.get("type") or "external"),
    )


def set_dotted(target: dict[str, Any], path: str, value: Any) -> None:
    """`set_dotted(x, "a.b", v)` sets x["a"]["b"] = v, making the dicts on the way."""
    *parents, leaf = path.split(".")
    for part in parents:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise Rejected(f"column {path} clashes with another column", {path: ["clash"]})
    target[leaf] = value


def from_csv_row(row: dict[str, str]) -> dict[str, Any]:
    """Dotted CSV columns -> a nested record; empty cells are absent; JSON-looking lists parsed."""
    record: dict[str, Any] = {}
    for column, cell in row.items():
        if column is None or cell is None or cell == "":
            continue
        value: Any = cell
        if column in ("tags", "message.attachments") and value.lstrip().startswith("["):
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError:
                raise Rejected(f"column {column} is not a JSON list", {column: ["invalid JSON"]}) from None
        elif column == "tags":
            value = [t.strip() for t in cell.split(",") if t.strip()]
        set_dotted(record, column, value)
    if "messages" in record and isinstance(record["messages"], str):
        record["messages"] = orjson.loads(record["messages"])
    return record


def _int_id(obj: Any, where: str) -> dict[str, int] | None:
    if obj in (None, "", {}):
        return None
    raw: Any = obj.get("id") if isinstance(obj, dict) else obj
    try:
        return {"id": int(raw)}
    except (TypeError, ValueError):
        raise Rejected(f"{where}.id must be a number, got {raw!r}", {f"{where}.id": ["must be an integer"]}) from None


def make_plan(record: dict[str, Any], *, notify: bool = False) -> Plan:
    """Check one record and turn it into a Plan, or raise Rejected."""
    if not isinstance(record, dict):
        raise Rejected("a record must be a JSON object")
    errors: dict[str, list[str]] = {}
    exported = "messages" in record or ("id" in record and "message" not in record)
    key = exported_key(record["id"]) if exported and "id" in record and not record.get("external_id") else record_key(record)

    subject = record.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        errors["subject"] = ["required"]
    contact = record.get("from_contact") or {}
    if not isinstance(contact, dict):
        contact = {"email": contact}
    email = contact.get("email") or contact.get("value")
    if not isinstance(email, str) or "@" not in email:
        errors["from_contact.email"] = ["a valid email address is required"]
    status = record.get("status")
    if status not in (None, "") and status not in TICKET_STATUSES:
        errors["status"] = [f"must be one of {', '.join(TICKET_STATUSES)}"]
    team = record.get("team")
    team_name = team.get("name") if isinstance(team, dict) else team
    if team_name and len(str(team_name)) > TEAM_NAME_MAX:
        errors["team.name"] = [f"at most {TEAM_NAME_MAX} characters"]
    tags = record.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        errors["tags"] = ["must be a list of names"]
    if errors:
        raise Rejected("invalid fields: " + ", ".join(errors), errors)

    if exported:
        messages = record.get("messages") or []
        if not messages:
            raise Rejected("an exported ticket without messages has no body: export with --with-messages",
                           {"messages": ["required"]})
        first, rest = messages[0], messages[1:]
        message = _message(first, "messages.0")
        follow_ups = [_message(m, f"messages.{i + 1}") for i, m in enumerate(rest) if m.get("type", "external") in PUBLIC_TYPES]
        skipped = len(rest) - len(follow_ups)
    else:
        raw_message = record.get("message")
        if not isinstance(raw_message, dict):
            raise Rejected("message.body is missing", {"message.body": ["required"]})
        message = _message(raw_message, "message")
        raw_follow = record.get("follow_ups") or []
        if not isinstance(raw_follow, list):
            raise Rejected("follow_ups must be a list of messages", {"follow_ups": ["must be a list"]})
        follow_ups = [_message(m, f"follow_ups.{i}") for i, m in enumerate(raw_follow)]
        skipped = 0

    channel = _int_id(record.get("channel"), "channel")
    if channel is None:
        raise Rejected("channel.id is missing", {"channel.id": ["required"]})
    created = record.get("created_at") or message.created_at
    ticket: dict[str, Any] = {
        "subject": subject,
        "channel": channel,
        "from_contact": {"email": email, **({"name": contact["name"]} if contact.get("name") else {})},
        "skip_rules": not notify,
        "skip_autoreply": not notify,
        "skip_notifications": not notify,
    }
    if status:
        ticket["status"] = status
    raw_assignee = record.get("assignee")
    assignee_email = raw_assignee.get("email") if isinstance(raw_assignee, dict) and "id" not in raw_assignee else None
    assignee = None if assignee_email else _int_id(raw_assignee, "assignee")
    if assignee:
        ticket["assignee"] = assignee
    if team_name:
        ticket["team"] = {"name": str(team_name)}
    if tags:
        ticket["tags"] = tags
    if created:
        ticket["created_at"] = iso_datetime(created, "created_at")
    return Plan(key=key, ticket=ticket, message=message, follow_ups=follow_ups, skipped_notes=skipped,
                assignee_email=assignee_email)

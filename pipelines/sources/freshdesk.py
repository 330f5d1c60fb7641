"""Freshdesk: tickets with conversations inline (API v2 shapes, or a tap's output joined)."""

from __future__ import annotations

import re
from typing import Any

from .common import (
    PLACEHOLDER,
    SourceContext,
    SourceRecord,
    as_dict,
    field_tags,
    follow_ups,
    footer,
    status,
    tag_safe,
    team,
    to_iso,
    with_author,
)

NAME = "Freshdesk"
STATUSES = {"2": "open", "3": "waiting", "4": "closed", "5": "closed"}
PRIORITIES = {1: "low", 2: "medium", 3: "high", 4: "urgent"}
SOURCES = {1: "email", 2: "portal", 3: "phone", 4: "forum", 5: "twitter", 6: "facebook", 7: "chat",
           9: "feedback-widget", 10: "outbound-email", 15: "web-chat"}
CID = re.compile(r"""(src\s*=\s*["'])cid:(https?://)""", re.IGNORECASE)


def _body(html: str | None) -> str:
    return CID.sub(r"\1\2", html) if html else PLACEHOLDER  # `cid:https://...` inline images


def _attachments(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": a.get("name") or "attachment", "mime_type": a.get("content_type"), "url": a.get("attachment_url")}
            for a in obj.get("attachments") or []]


def convert(t: dict[str, Any], ctx: SourceContext) -> SourceRecord:
    requester = as_dict(t.get("requester"))
    if t.get("spam"):
        mapped, extra = "spam", list[str]()
    else:
        mapped, extra = status(t.get("status"), STATUSES, ctx, "freshdesk")
        if mapped == "open" and t.get("is_escalated") and "escalated" in ctx.status_map:
            mapped = ctx.status_map["escalated"]
    tags = list(t.get("tags") or []) + extra
    tags += [f"priority-{PRIORITIES[t['priority']]}"] if t.get("priority") in PRIORITIES else []
    tags += [f"via-{SOURCES[t['source']]}"] if t.get("source") in SOURCES else []
    tags += [f"type-{tag_safe(t['type'])}"] if t.get("type") else []
    tags += field_tags(t.get("custom_fields"))
    later, notes = follow_ups(
        sorted(t.get("conversations") or [], key=lambda c: c.get("created_at") or ""), ctx,
        is_note=lambda c: bool(c.get("private")),
        message=lambda c: {"body": with_author(_body(c.get("body") or c.get("body_text")), None, c.get("from_email"),
                                               "customer" if c.get("incoming") else "agent"),
                           "created_at": to_iso(c.get("created_at"), ctx, "conversations.created_at"),
                           "attachments": _attachments(c)})
    group = as_dict(t.get("group"))
    responder = as_dict(t.get("responder"))
    return SourceRecord({
        "external_id": f"freshdesk:{t.get('id')}",
        "subject": t.get("subject") or f"Freshdesk #{t.get('id')}",
        "channel": {"id": ctx.channel_id},
        "from_contact": {"email": requester.get("email") or t.get("email"), "name": requester.get("name")},
        "status": mapped,
        "tags": tags,
        "team": team(group.get("name")),
        "assignee": {"email": responder["email"]} if responder.get("email") else None,
        "created_at": to_iso(t.get("created_at"), ctx, "created_at"),
        "message": {"body": footer(_body(t.get("description")), NAME, t.get("id")), "attachments": _attachments(t)},
        "follow_ups": later,
    }, notes, [] if t.get("description") else ["placeholder body"])

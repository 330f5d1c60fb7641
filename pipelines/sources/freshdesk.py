"""Freshdesk: tickets with conversations inline (API v2 shapes, or a tap's output joined)."""

from __future__ import annotations

import re
from typing import Any

from ..errors import Rejected
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
    return [{"name": a.get("name") or "attachment", "mime_type": a.get("content_type"), "url": a.get("attachment_url"),
             "source_id": a.get("id")} for a in obj.get("attachments") or []]


OUTBOUND = 10  # source 10: an agent wrote first, to the requester


def _agent(agent_id: Any, ctx: SourceContext) -> dict[str, Any]:
    """An agent as {name, email}: inline agents carry them, the agents stream nests them in `contact`."""
    found = ctx.find("agents", agent_id)
    return as_dict(found.get("contact")) or found


def _author(c: dict[str, Any], ctx: SourceContext, unresolved: list[tuple[str, str]]) -> tuple[Any, Any, str]:
    """(name, email, role) of a conversation: `incoming` says customer or agent; `user_id` names who."""
    role = "customer" if c.get("incoming") else "agent"
    who = ctx.find("users", c.get("user_id")) if c.get("incoming") else _agent(c.get("user_id"), ctx)
    who = who or ctx.find("users", c.get("user_id")) or _agent(c.get("user_id"), ctx)
    if not who and not c.get("from_email") and c.get("user_id") is not None:
        unresolved.append(("author", str(c["user_id"])))
    return who.get("name"), who.get("email") or c.get("from_email"), role


def convert(t: dict[str, Any], ctx: SourceContext) -> SourceRecord:
    unresolved: list[tuple[str, str]] = []
    requester = as_dict(t.get("requester")) or ctx.find("users", t.get("requester_id"))
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
    tags += field_tags(t.get("custom_fields"), ctx, unresolved)
    later, notes = follow_ups(
        sorted(t.get("conversations") or [], key=lambda c: c.get("created_at") or ""), ctx,
        is_note=lambda c: bool(c.get("private")),
        message=lambda c: {"body": with_author(_body(c.get("body") or c.get("body_text")), *_author(c, ctx, unresolved)),
                           "created_at": to_iso(c.get("created_at"), ctx, "conversations.created_at"),
                           "attachments": _attachments(c)})
    group = as_dict(t.get("group")) or ctx.find("groups", t.get("group_id"))
    if not group and t.get("group_id") is not None:
        unresolved.append(("group", str(t["group_id"])))
    responder = as_dict(t.get("responder")) or _agent(t.get("responder_id"), ctx)
    if not responder.get("email") and t.get("responder_id") is not None:
        unresolved.append(("assignee", str(t["responder_id"])))
    flags = [] if t.get("description") else ["placeholder body"]
    first = _body(t.get("description"))
    if t.get("source") == OUTBOUND:  # the first message is the agent's, sent to the requester
        first = with_author(first, responder.get("name"), responder.get("email"), "agent")
        flags.append("outbound: first message by the agent")
    if not requester.get("email") and not t.get("email") and t.get("requester_id") is not None:  # after the rest:
        raise Rejected(f"requester {t['requester_id']} has no email here: give the contacts (a contacts stream, "  # all
                       "--users FILE, or --source-url with credentials)", {"from_contact.email": ["unresolved requester_id"]},
                       [("requester", str(t["requester_id"])), *unresolved])  # it names is looked up at once
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
        "message": {"body": footer(first, NAME, t.get("id")), "attachments": _attachments(t)},
        "follow_ups": later,
    }, notes, flags, unresolved)

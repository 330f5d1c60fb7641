"""Help Scout: conversations with threads (Mailbox API 2.0 camelCase, or a tap's snake_case)."""

from __future__ import annotations

from typing import Any

from ..records import NOTE_TYPE
from .common import PLACEHOLDER, SourceContext, dig, field_tags, footer, status, to_iso

NAME = "Help Scout"
STATUSES = {"active": "open", "open": "open", "pending": "waiting", "closed": "closed", "spam": "spam"}
PUBLIC = {"customer", "message", "chat", "phone", "forwardparent", "forwardchild", "beaconchat"}


def _get(obj: dict[str, Any], camel: str) -> Any:
    """camelCase from the API, snake_case from the tap."""
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return obj.get(camel, obj.get(snake))


def _attachments(thread: dict[str, Any]) -> list[dict[str, Any]]:
    found = dig(thread, "_embedded.attachments") or thread.get("attachments") or []
    return [{"name": a.get("filename") or a.get("name") or "attachment", "mime_type": _get(a, "mimeType"),
             **({"data": a["data"]} if a.get("data") else {"url": a.get("url") or dig(a, "_links.data.href")})}
            for a in found]


def convert(c: dict[str, Any], ctx: SourceContext) -> dict[str, Any]:
    customer = _get(c, "primaryCustomer") or {}
    threads = dig(c, "_embedded.threads") or c.get("threads") or []
    threads = sorted((t for t in threads if isinstance(t, dict)), key=lambda t: _get(t, "createdAt") or "")  # API lists newest first
    public = [t for t in threads if t.get("type") in PUBLIC]
    first = public[0] if public else None
    follow_ups, notes = [], 0
    for t in threads:
        if t is first or t.get("type") == "lineitem":
            continue
        is_note = t.get("type") == "note"
        if is_note and not ctx.include_notes:
            notes += 1
            continue
        follow_ups.append({"body": t.get("body") or PLACEHOLDER, "type": NOTE_TYPE if is_note else "external",
                           "created_at": to_iso(_get(t, "createdAt"), ctx, "threads.createdAt"), "attachments": _attachments(t)})
    mapped, extra = status(c.get("status"), STATUSES, ctx, "helpscout")
    tags = [t.get("tag") if isinstance(t, dict) else t for t in c.get("tags") or []] + extra
    tags += field_tags(_get(c, "customFields"))
    assignee = c.get("assignee") if isinstance(c.get("assignee"), dict) else {}
    name = " ".join(x for x in (customer.get("first"), customer.get("last")) if x) or None
    return {
        "external_id": f"helpscout:{c.get('id')}",
        "subject": c.get("subject") or f"Help Scout #{c.get('number') or c.get('id')}",
        "channel": {"id": ctx.channel_id},
        "from_contact": {"email": customer.get("email"), "name": name},
        "status": mapped,
        "tags": [t for t in tags if t],
        "assignee": {"email": assignee["email"]} if assignee.get("email") else None,
        "created_at": to_iso(_get(c, "createdAt"), ctx, "createdAt"),
        "message": {"body": footer((first or {}).get("body") or PLACEHOLDER, NAME, c.get("number") or c.get("id")),
                    "attachments": _attachments(first or {})},
        "follow_ups": follow_ups,
        "_skipped_notes": notes,
        "_flags": [] if first else ["placeholder body"],
    }

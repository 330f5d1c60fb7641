"""Help Scout: conversations with threads (Mailbox API 2.0 camelCase, or a tap's snake_case)."""

from __future__ import annotations

from typing import Any

from ..errors import Rejected
from .common import (
    PLACEHOLDER,
    SourceContext,
    SourceRecord,
    as_dict,
    dig,
    field_tags,
    follow_ups,
    footer,
    status,
    to_iso,
    with_author,
)

NAME = "Help Scout"
STATUSES = {"active": "open", "open": "open", "pending": "waiting", "closed": "closed", "spam": "spam"}
PUBLIC = {"customer", "message", "chat", "phone", "forwardparent", "forwardchild", "beaconchat"}


def _get(obj: dict[str, Any], camel: str) -> Any:
    """camelCase from the API, snake_case from the tap."""
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return obj.get(camel, obj.get(snake))


def _attachments(thread: dict[str, Any]) -> list[dict[str, Any]]:
    found = dig(thread, "_embedded.attachments") or thread.get("attachments") or []
    return [{"name": a.get("filename") or a.get("name") or "attachment", "mime_type": _get(a, "mimeType"), **_content(a)}
            for a in found]


def _content(attachment: dict[str, Any]) -> dict[str, Any]:
    """Inline base64, a plain URL, or the Mailbox API's `_links.data.href`, which answers
    JSON `{"data": "<base64>"}` (developer.helpscout.com: attachments/get-data), not the file."""
    if attachment.get("data"):
        return {"data": attachment["data"]}
    if attachment.get("url"):
        return {"url": attachment["url"]}
    href = dig(attachment, "_links.data.href")
    return {"url": href, "encoding": "json-base64"} if href else {}


def _authored(body: str, thread: dict[str, Any]) -> str:
    by = as_dict(_get(thread, "createdBy"))
    if not by:
        return body
    name = " ".join(x for x in (by.get("first"), by.get("last")) if x) or None
    return with_author(body, name, by.get("email"), "customer" if by.get("type") == "customer" else "agent")


def convert(c: dict[str, Any], ctx: SourceContext) -> SourceRecord:
    customer = as_dict(_get(c, "primaryCustomer"))
    threads = dig(c, "_embedded.threads") or c.get("threads") or []
    if isinstance(threads, int):  # the conversations list gives a count unless embed=threads was asked for
        raise Rejected(f"conversation {c.get('id')} was exported without its threads (\"threads\": {threads}): "
                       "export conversations with embed=threads, or the conversation_threads stream beside them, "
                       "or pass --source-url https://api.helpscout.net with --source-token to fetch them",
                       {"threads": ["not exported"]}, [("thread", str(c.get("id")))])
    threads = sorted((t for t in threads if isinstance(t, dict)), key=lambda t: _get(t, "createdAt") or "")  # API lists newest first
    public = [t for t in threads if t.get("type") in PUBLIC]
    first = public[0] if public else None
    later, notes = follow_ups(
        (t for t in threads if t is not first and t.get("type") != "lineitem"), ctx,
        is_note=lambda t: t.get("type") == "note",
        message=lambda t: {"body": _authored(t.get("body") or PLACEHOLDER, t), "attachments": _attachments(t),
                           "created_at": to_iso(_get(t, "createdAt"), ctx, "threads.createdAt")})
    mapped, extra = status(c.get("status"), STATUSES, ctx, "helpscout")
    tags = [t.get("tag") if isinstance(t, dict) else t for t in c.get("tags") or []] + extra
    tags += field_tags(_get(c, "customFields"), ctx)
    assignee = as_dict(c.get("assignee"))
    name = " ".join(x for x in (customer.get("first"), customer.get("last")) if x) or None
    return SourceRecord({
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
        "follow_ups": later,
    }, notes, [] if first else ["placeholder body"])

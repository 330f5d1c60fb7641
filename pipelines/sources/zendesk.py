"""Zendesk: the full JSON export (NDJSON, comments inline) and the CSV export (no bodies)."""

from __future__ import annotations

from typing import Any

from ..errors import Rejected, Skipped
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
    tag_safe,
    team,
    text_to_html,
    to_iso,
    with_author,
)

NAME = "Zendesk"
STATUSES = {"new": "open", "open": "open", "pending": "waiting", "hold": "waiting+zendesk-hold",
            "solved": "closed", "closed": "closed"}


def _attachments(comment: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": a.get("file_name") or "attachment", "mime_type": a.get("content_type"),
             "url": a.get("content_url") or a.get("mapped_content_url"), "source_id": a.get("id")}
            for a in comment.get("attachments") or [] if not a.get("inline")]


def _authored(body: str, comment: dict[str, Any], ctx: SourceContext, unresolved: list[tuple[str, str]]) -> str:
    author = as_dict(comment.get("author")) or ctx.find("users", comment.get("author_id"))
    if not author:
        if comment.get("author_id") is None:
            return body
        unresolved.append(("author", str(comment["author_id"])))
        return with_author(body, f"Zendesk user {comment['author_id']}", None, "role unknown")
    role = "customer" if author.get("role") in (None, "end-user") else "agent"
    return with_author(body, author.get("name"), author.get("email"), role)


def _person(t: dict[str, Any], key: str, kind: str, ctx: SourceContext, unresolved: list[tuple[str, str]],
            what: str) -> dict[str, Any]:
    """`t[key]` inline, else `t[key + "_id"]` resolved; an id that can't be is listed as `what`."""
    found = as_dict(t.get(key)) or ctx.find(kind, t.get(f"{key}_id"))
    if not found and t.get(f"{key}_id") is not None:
        unresolved.append((what, str(t[f"{key}_id"])))
    return found


def convert(raw: dict[str, Any], ctx: SourceContext) -> SourceRecord:
    """A JSON-export line (bare ticket or {"ticket": ...}) -> an import record."""
    t = raw["ticket"] if set(raw) == {"ticket"} else raw
    if t.get("status") == "deleted":
        raise Skipped("deleted in source")
    unresolved: list[tuple[str, str]] = []
    requester = as_dict(t.get("requester")) or ctx.find("users", t.get("requester_id"))
    source_from = as_dict(dig(t, "via.source.from"))
    email = requester.get("email") or source_from.get("address")
    comments = sorted(t.get("comments") or [], key=lambda c: c.get("created_at") or "")
    public = [c for c in comments if c.get("public", True)]
    flags: list[str] = []
    if public:
        first = public[0]
        body, attachments = first.get("html_body") or text_to_html(first.get("body") or ""), _attachments(first)
    elif t.get("description"):  # a ticket over 1 MB comes without comments
        body, attachments = text_to_html(t["description"]), []
        flags.append("no comments in the export (description used)")
    else:
        body, attachments = PLACEHOLDER, []
        flags.append("placeholder body")
    later, notes = follow_ups(
        (c for c in comments if not (public and c is public[0])), ctx,
        is_note=lambda c: not c.get("public", True),
        message=lambda c: {"body": _authored(c.get("html_body") or text_to_html(c.get("body") or ""), c, ctx, unresolved),
                           "created_at": to_iso(c.get("created_at"), ctx, "comments.created_at"),
                           "attachments": _attachments(c)})
    mapped, extra_tags = status(t.get("status"), STATUSES, ctx, "zendesk")
    tags = list(t.get("tags") or []) + extra_tags
    tags += [f"priority-{tag_safe(t['priority'])}"] if t.get("priority") else []
    tags += [f"type-{tag_safe(t['type'])}"] if t.get("type") else []
    tags += field_tags(t.get("custom_fields"), ctx, unresolved)
    group = _person(t, "group", "groups", ctx, unresolved, "group")
    assignee = _person(t, "assignee", "users", ctx, unresolved, "assignee")
    if not email and t.get("requester_id") is not None:  # rejected once all it names is listed, to be looked up at once
        raise Rejected(f"requester {t['requester_id']} has no email here: give the users (a users stream, side-loaded "
                       "\"users\" in the same document, or --users FILE)", {"from_contact.email": ["unresolved requester_id"]},
                       [("requester", str(t["requester_id"])), *unresolved])
    return SourceRecord({
        "external_id": f"zendesk:{t.get('id')}",
        "subject": t.get("subject") or t.get("raw_subject") or (t.get("description") or "")[:80] or f"Zendesk #{t.get('id')}",
        "channel": {"id": ctx.channel_id},
        "from_contact": {"email": email, "name": requester.get("name") or source_from.get("name")},
        "status": mapped,
        "tags": tags,
        "team": team(group.get("name")),
        "assignee": {"email": assignee["email"]} if assignee.get("email") else None,
        "created_at": to_iso(t.get("created_at"), ctx, "created_at"),
        "message": {"body": footer(body, NAME, t.get("id")), "attachments": attachments},
        "follow_ups": later,
    }, notes, flags, unresolved)


def convert_csv(row: dict[str, str], ctx: SourceContext) -> SourceRecord:
    """A row of Zendesk's CSV export: no comments and no bodies, dates in the account's time zone."""
    r = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
    mapped, extra_tags = status(r.get("status"), STATUSES, ctx, "zendesk")
    tags = [x for x in r.get("tags", "").split() if x] + extra_tags
    tags += [f"priority-{tag_safe(r['priority'])}"] if r.get("priority") else []
    tags += [f"type-{tag_safe(r['ticket type'])}"] if r.get("ticket type") else []
    assignee = ctx.find("users", "name:" + r["assignee"].lower()) if r.get("assignee") else {}
    unresolved = [("assignee", r["assignee"])] if r.get("assignee") and not assignee.get("email") else []
    return SourceRecord({
        "external_id": f"zendesk:{r.get('id')}",
        "subject": r.get("subject") or f"Zendesk #{r.get('id')}",
        "channel": {"id": ctx.channel_id},
        "from_contact": {"email": r.get("requester email"), "name": r.get("requester") or None},
        "status": mapped,
        "tags": tags,
        "team": team(r.get("group")),
        "assignee": {"email": assignee["email"]} if assignee.get("email") else None,
        "created_at": to_iso(r.get("created at"), ctx, "Created at"),
        "message": {"body": footer(PLACEHOLDER, NAME, r.get("id"))},
    }, flags=["placeholder body (Zendesk CSV has no comments)"], unresolved=unresolved)

"""The create rules the API documents, as Laravel would report them (422 field errors)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from . import seed as seeding

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_ATTACHMENTS_BYTES = 5 * 1024 * 1024


def decode_attachments(raw: Any, prefix: str, errors: dict[str, list[str]]) -> list[tuple[str, str, bytes]]:
    """Check and decode `attachments` (name, mime_type, base64 data); total ≤ 5 MB decoded."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors[prefix] = ["The attachments must be an array."]
        return []
    decoded = []
    for i, att in enumerate(raw):
        where = f"{prefix}.{i}"
        if not isinstance(att, dict) or not isinstance(att.get("name"), str) or not att.get("name"):
            errors[f"{where}.name"] = ["The name field is required."]
            continue
        try:
            data = base64.b64decode(att.get("data") or "", validate=True)
        except (binascii.Error, ValueError, TypeError):
            errors[f"{where}.data"] = ["The data must be valid base64."]
            continue
        decoded.append((att["name"], str(att.get("mime_type") or "application/octet-stream"), data))
    if sum(len(d) for _, _, d in decoded) > MAX_ATTACHMENTS_BYTES:
        errors[prefix] = ["The attachments may not be greater than 5 MB in total."]
    return decoded


def check_body(message: Any, prefix: str, errors: dict[str, list[str]]) -> str:
    body = message.get("body") if isinstance(message, dict) else None
    if not isinstance(body, str) or not body.strip():
        errors[f"{prefix}.body"] = ["The message.body field is required."]
        return ""
    if len(body.encode()) > MAX_BODY_BYTES:
        errors[f"{prefix}.body"] = ["The message.body may not be greater than 5 MB."]
    return body


def check_create(data: Any) -> tuple[dict[str, list[str]], list[tuple[str, str, bytes]]]:
    """Field errors of a ticket create body (empty when valid) and its decoded attachments."""
    errors: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        return {"body": ["The request body must be a JSON object."]}, []
    subject = data.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        errors["subject"] = ["The subject field is required."]
    elif len(subject) > 255:
        errors["subject"] = ["The subject may not be greater than 255 characters."]
    channel = data.get("channel")
    if not isinstance(channel, dict) or channel.get("id") not in seeding.CHANNELS:
        errors["channel.id"] = ["The selected channel.id is invalid."]
    contact = data.get("from_contact")
    email = contact.get("email") if isinstance(contact, dict) else None
    if not isinstance(email, str) or "@" not in email:
        errors["from_contact.email"] = ["The from_contact.email must be a valid email address."]
    message = data.get("message")
    if not isinstance(message, dict):
        errors["message"] = ["The message field is required."]
        attachments: list[tuple[str, str, bytes]] = []
    else:
        check_body(message, "message", errors)
        attachments = decode_attachments(message.get("attachments"), "message.attachments", errors)
    status = data.get("status")
    if status is not None and status not in seeding.STATUSES:
        errors["status"] = ["The selected status is invalid."]
    assignee = data.get("assignee")
    if assignee is not None and (not isinstance(assignee, dict) or assignee.get("id") not in {a["id"] for a in seeding.AGENTS}):
        errors["assignee.id"] = ["The selected assignee.id is invalid."]
    team = data.get("team")
    if team is not None and (not isinstance(team, dict) or not isinstance(team.get("name"), str) or len(team["name"]) > 14):
        errors["team.name"] = ["The team.name may not be greater than 14 characters."]
    tags = data.get("tags")
    if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
        errors["tags"] = ["The tags must be an array of strings."]
    created = data.get("created_at")
    if created is not None:
        try:
            datetime.fromisoformat(str(created).replace("Z", "+00:00"))
        except ValueError:
            errors["created_at"] = ["The created_at is not a valid date."]
    return errors, attachments

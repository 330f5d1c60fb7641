"""The ticket's fields, described once: CSV columns, the Parquet schema and the printed
JSON Schema are all derived from this list (see csv_format, parquet_format, schema).

Kinds: integer, string, boolean, status, timestamp, tags (list of names), json (shape not
documented, kept as JSON text in flat formats), object (documented sub-fields).
Customers and organizations are described the same way, so their exports get the same
CSV and Parquet treatment as tickets.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    sub: tuple[tuple[str, str], ...] = ()  # (name, kind) of an object's documented fields
    required: bool = False


TICKET_FIELDS: tuple[Field, ...] = (
    Field("id", "integer", required=True),
    Field("subject", "string", required=True),
    Field("status", "status", required=True),
    Field("channel", "object", (("id", "integer"), ("name", "string"), ("value", "string"), ("type", "string"))),
    Field("from_contact", "object", (("id", "integer"), ("user_id", "integer"), ("name", "string"),
                                     ("value", "string"), ("type", "string"))),
    Field("assignee", "object", (("id", "integer"), ("name", "string"), ("email", "string"))),
    Field("team", "object", (("id", "integer"), ("name", "string"))),
    Field("creator", "json"),
    Field("tags", "tags"),
    Field("last_contact", "timestamp"),
    Field("created_at", "timestamp"),
    Field("updated_at", "timestamp"),
    Field("deleted_at", "timestamp"),
)
KNOWN_NAMES = frozenset(f.name for f in TICKET_FIELDS)
CUSTOMER_FIELDS: tuple[Field, ...] = (  # documentation.helpspace.com: api-customers
    Field("id", "integer", required=True), Field("name", "string"), Field("email", "string"),
    Field("job_title", "string"), Field("address", "string"), Field("city", "string"), Field("state", "string"),
    Field("postal_code", "string"), Field("timezone", "string"), Field("country", "string"), Field("note", "string"),
    Field("locale", "string"), Field("id_link", "string"), Field("avatar", "json"),
    Field("created_at", "timestamp"), Field("updated_at", "timestamp"),
)
ORGANIZATION_FIELDS: tuple[Field, ...] = (  # documentation.helpspace.com: api-organizations
    Field("id", "integer", required=True), Field("name", "string"), Field("domain", "string"), Field("note", "string"),
    Field("custom_fields", "json"), Field("timezone", "string"), Field("locale", "string"),
    Field("is_shared", "boolean"), Field("is_domain_assignable", "boolean"), Field("tags", "json"),
    Field("users", "json"), Field("avatar", "json"), Field("created_at", "timestamp"), Field("updated_at", "timestamp"),
)
EXTRA = "extra"  # flat formats: fields the API adds later, as one JSON object
MESSAGES = "messages"  # with --with-messages: the ticket's messages, JSON in flat formats


def flat_columns(with_messages: bool = False, fields: tuple[Field, ...] = TICKET_FIELDS) -> list[tuple[str, str]]:
    """(column, kind) in CSV order: objects become dotted columns, then `extra`, then `messages`."""
    out: list[tuple[str, str]] = []
    for f in fields:
        if f.kind == "object":
            out += [(f"{f.name}.{name}", kind) for name, kind in f.sub]
        else:
            out.append((f.name, f.kind))
    out.append((EXTRA, "json object"))
    if with_messages:
        out.append((MESSAGES, "json array"))
    return out

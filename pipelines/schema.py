"""Machine-readable schemas of every export format, printed by `--print-schema`.

One description of the ticket drives all three: JSON Schema for JSONL, typed columns
for CSV, and the Arrow schema that the Parquet writer uses (see formats/parquet_format.py).
"""

from __future__ import annotations

from typing import Any

from helpspace_async.protocol import TICKET_STATUSES

from .formats import csv_format

TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}
NESTED = {
    "channel": {"id": "integer", "name": "string", "value": "string", "type": "string"},
    "from_contact": {"id": "integer", "user_id": "integer", "name": "string", "value": "string", "type": "string"},
    "assignee": {"id": "integer", "name": "string", "email": "string"},
    "team": {"id": "integer", "name": "string"},
}


def _nullable(kind: str) -> dict[str, Any]:
    return {"type": [kind, "null"]}


def jsonl_schema(with_messages: bool = False) -> dict[str, Any]:
    """JSON Schema (2020-12) of one JSONL line; unknown fields are allowed and kept."""
    props: dict[str, Any] = {
        "id": {"type": "integer"},
        "subject": {"type": "string"},
        "status": {"type": "string", "enum": list(TICKET_STATUSES)},
        "creator": {},
        "tags": {"type": "array", "items": {"type": "string"}},
        **{name: TIMESTAMP for name in ("last_contact", "created_at", "updated_at", "deleted_at")},
    }
    for name, fields in NESTED.items():
        props[name] = {"type": ["object", "null"], "properties": {k: _nullable(v) for k, v in fields.items()},
                       "additionalProperties": True}
    if with_messages:
        attachment = {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}, "mime_type": {"type": "string"},
            "size": {"type": "integer"}, "url": {"type": "string"},
            "data": {"type": "string", "contentEncoding": "base64"}, "path": {"type": "string"}}}
        props["messages"] = {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "type": {"type": "string"}, "body": {"type": "string"},
            "created_at": TIMESTAMP, "attachments": {"type": "array", "items": attachment}}}}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "HelpSpace ticket (helpspace export)",
            "type": "object", "required": ["id", "subject", "status"], "properties": props, "additionalProperties": True}


def csv_columns(with_messages: bool = False) -> list[dict[str, str]]:
    """The CSV header in order, each column with its type."""
    types = {"id": "integer", "creator": "json", "tags": "json array of strings", "extra": "json object",
             "messages": "json array", "last_contact": "timestamp", "created_at": "timestamp",
             "updated_at": "timestamp", "deleted_at": "timestamp"}
    for name, fields in NESTED.items():
        types.update({f"{name}.{k}": v for k, v in fields.items()})
    return [{"name": c, "type": types.get(c, "string")} for c in csv_format.columns(with_messages)]


def parquet_columns(with_messages: bool = False) -> list[dict[str, str]]:
    """The Arrow schema of the Parquet export, as names and type strings."""
    from .formats import parquet_format

    schema = parquet_format.arrow_schema(with_messages)
    return [{"name": f.name, "type": str(f.type)} for f in schema]


def all_schemas(with_messages: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"jsonl": jsonl_schema(with_messages), "csv": csv_columns(with_messages)}
    try:
        out["parquet"] = parquet_columns(with_messages)
    except ImportError:
        out["parquet"] = "install the parquet extra: pip install 'helpspace-async[parquet]'"
    return out

"""Machine-readable schemas of every export format, printed by `--print-schema`.

All three come from one description of the ticket (fields.TICKET_FIELDS): JSON Schema
for JSONL, typed columns for CSV, and the Arrow schema the Parquet writer uses.
"""

from __future__ import annotations

from typing import Any

from helpspace_async.protocol import TICKET_STATUSES

from .fields import TICKET_FIELDS, flat_columns

TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}


def _json_type(kind: str) -> dict[str, Any]:
    if kind == "status":
        return {"type": "string", "enum": list(TICKET_STATUSES)}
    if kind == "timestamp":
        return TIMESTAMP
    if kind == "tags":
        return {"type": "array", "items": {"type": "string"}}
    if kind == "json":
        return {}
    return {"type": kind}


def jsonl_schema(with_messages: bool = False) -> dict[str, Any]:
    """JSON Schema (2020-12) of one JSONL line; unknown fields are allowed and kept."""
    props: dict[str, Any] = {}
    for f in TICKET_FIELDS:
        if f.kind == "object":
            props[f.name] = {"type": ["object", "null"], "additionalProperties": True,
                             "properties": {name: {"type": [kind, "null"]} for name, kind in f.sub}}
        else:
            props[f.name] = _json_type(f.kind)
    if with_messages:
        attachment = {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}, "mime_type": {"type": "string"},
            "size": {"type": "integer"}, "url": {"type": "string"},
            "data": {"type": "string", "contentEncoding": "base64"}, "path": {"type": "string"}}}
        props["messages"] = {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "type": {"type": "string"}, "body": {"type": "string"},
            "created_at": TIMESTAMP, "attachments": {"type": "array", "items": attachment}}}}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "HelpSpace ticket (helpspace export)",
            "type": "object", "required": [f.name for f in TICKET_FIELDS if f.required], "properties": props,
            "additionalProperties": True}


def csv_columns(with_messages: bool = False) -> list[dict[str, str]]:
    """The CSV header in order, each column with its type."""
    return [{"name": name, "type": "json array of strings" if kind == "tags" else "string" if kind == "status" else kind}
            for name, kind in flat_columns(with_messages)]


def parquet_columns(with_messages: bool = False) -> list[dict[str, str]]:
    """The Arrow schema of the Parquet export, as names and type strings."""
    from . import parquet_format

    schema = parquet_format.arrow_schema(with_messages)
    return [{"name": f.name, "type": str(f.type)} for f in schema]


def all_schemas(with_messages: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"jsonl": jsonl_schema(with_messages), "csv": csv_columns(with_messages)}
    try:
        out["parquet"] = parquet_columns(with_messages)
    except ImportError:
        out["parquet"] = "install the parquet extra: pip install 'helpspace-async[parquet]'"
    return out

"""Any JSONL/CSV with a mapping file: target field <- source path, with small transforms.

    {"fields": {
        "subject": "title",
        "from_contact.email": {"path": "customer.mail", "transform": "lowercase"},
        "status": {"path": "state", "lookup": {"new": "open", "done": "closed"}, "default": "open"},
        "tags": {"path": "labels", "transform": "split"},
        "created_at": {"path": "opened", "transform": "date"},
        "message.body": {"join": ["intro", "text"], "sep": "<br>"},
        "channel.id": {"const": 1}}}

Transforms: lowercase, date (ISO, epoch, or local time in --source-tz), split (commas).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import InputError
from .common import SourceContext, SourceRecord, dig, set_dotted, to_iso


def load_mapping(path: str) -> dict[str, Any]:
    """A mapping file, JSON or TOML (TOML needs Python 3.11's tomllib)."""
    text = Path(path).read_text(encoding="utf-8")
    if path.endswith(".toml"):
        try:
            import tomllib  # type: ignore[import-not-found,unused-ignore]  # Python 3.11+
        except ImportError:
            raise InputError("a TOML mapping needs Python 3.11 or later; write it as JSON") from None
        mapping = tomllib.loads(text)
    else:
        mapping = json.loads(text)
    if not isinstance(mapping.get("fields"), dict):
        raise InputError(f"{path}: a mapping has a 'fields' table of target = source")
    return mapping


def _value(record: dict[str, Any], spec: Any, ctx: SourceContext, target: str) -> Any:
    if isinstance(spec, str):
        return dig(record, spec)
    if "const" in spec:
        return spec["const"]
    if "join" in spec:
        parts = [dig(record, p) for p in spec["join"]]
        value: Any = spec.get("sep", " ").join(str(p) for p in parts if p not in (None, ""))
    else:
        value = dig(record, spec["path"])
    if "lookup" in spec:
        value = spec["lookup"].get(str(value), spec.get("default", value))
    elif value in (None, "") and "default" in spec:
        value = spec["default"]
    transform = spec.get("transform")
    if transform == "lowercase" and isinstance(value, str):
        value = value.lower()
    elif transform == "date":
        value = to_iso(value, ctx, target)
    elif transform == "split" and isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    return value


def convert(record: dict[str, Any], ctx: SourceContext) -> SourceRecord:
    assert ctx.mapping is not None
    out: dict[str, Any] = {}
    for target, spec in ctx.mapping["fields"].items():
        value = _value(record, spec, ctx, target)
        if value is not None:
            set_dotted(out, target, value)
    return SourceRecord(out)

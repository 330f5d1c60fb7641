"""Attachment files on disk: safe names when exporting, safe paths when importing."""

from __future__ import annotations

import base64
import mimetypes
import os
import re
import unicodedata
from pathlib import Path

from .errors import UnsafePath

MAX_ATTACHMENTS_BYTES = 5 * 1024 * 1024
MAX_BODY_BYTES = 5 * 1024 * 1024


MAX_NAME_BYTES = 200  # file systems allow 255 bytes a name; room left for an id prefix and .part


def safe_name(name: str, fallback: str = "file", *, max_bytes: int = MAX_NAME_BYTES) -> str:
    """A file name that can't escape a folder or upset a file system (cut by bytes, keeping the extension)."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").split("/")[-1]
    name = re.sub(r"[\x00-\x1f<>:\"|?*]", "_", name).strip(" .")
    if len(name.encode("utf-8")) > max_bytes:
        stem, dot, ext = name.rpartition(".")
        ext = dot + ext if dot and 0 < len(ext.encode("utf-8")) <= 16 else ""
        stem = name[: len(name) - len(ext)] if ext else name
        budget = max_bytes - len(ext.encode("utf-8"))
        stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore")
        name = stem + ext
    return name or fallback


def resolve_inside(base: Path, relative: str) -> Path:
    """`base/relative`, refusing absolute paths, `..` and symlinks that lead outside `base`."""
    if not relative or os.path.isabs(relative) or relative.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", relative):
        raise UnsafePath(f"attachment path {relative!r} must be relative to the attachments folder")
    root = base.resolve()
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        raise UnsafePath(f"attachment path {relative!r} leads outside {root}")
    return target


def read_attachment(base: Path, relative: str) -> tuple[bytes, str]:
    """Bytes and guessed mime type of a file that must live inside `base`."""
    path = resolve_inside(base, relative)
    if not path.is_file():
        raise FileNotFoundError(f"attachment file {relative!r} not found in {base}")
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return path.read_bytes(), mime


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decoded_size(data_b64: str) -> int:
    """Size in bytes of base64 text without decoding it."""
    data_b64 = data_b64.strip()
    return len(data_b64) * 3 // 4 - data_b64[-2:].count("=")

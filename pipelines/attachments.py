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


def safe_name(name: str, fallback: str = "file") -> str:
    """A file name that can't escape a folder or upset a file system."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").split("/")[-1]
    name = re.sub(r"[\x00-\x1f<>:\"|?*]", "_", name).strip(" .")
    return name[:150] or fallback


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

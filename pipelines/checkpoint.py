"""Small JSON state files written atomically: a crash leaves the old one or the new one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson


def write_atomic(path: Path, data: Any) -> None:
    """Write JSON to `path.tmp`, fsync, rename over `path`."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read(path: Path) -> Any | None:
    """The stored JSON, or None when there is none."""
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None

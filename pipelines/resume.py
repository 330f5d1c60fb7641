"""Whether an interrupted run may be continued: the one check for every checkpoint.

A checkpoint carries the identity of the run that wrote it (the API origin, a hash of the
client id, the command) and of its output (the bytes durably written and a hash of the
last of them). `--resume` continues only the same run on the same account into the same,
untouched `.part`; anything else is refused with the reason (exit 2). A run started
without `--resume` where a checkpoint waits does not silently start over either: the user
chooses `--resume` or `--restart`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from helpspace_async.protocol import origin

from .errors import ExportConfigError
from .files import hash_prefix


def run_identity(base_url: str, client_id: str | None, command: str) -> dict[str, str]:
    """Who wrote a checkpoint: the account (origin, hashed client id) and the command."""
    scheme, host, port = origin(base_url)
    client = hashlib.sha256((client_id or "").encode()).hexdigest()[:16]
    return {"origin": f"{scheme}://{host}:{port}", "client": client, "command": command}


def prefix_digest(part: Path, offset: int) -> str:
    """sha256 of the first `offset` bytes of `part`: everything a checkpoint says was written (a
    running writer records it from its own running hash, so this full read happens only on resume)."""
    digest = hashlib.sha256()
    with open(part, "rb") as fh:
        hash_prefix(fh, digest, offset)
    return digest.hexdigest()


def check_identity(checkpoint: Path, saved: Any, identity: dict[str, str]) -> None:
    """Refuse to continue a checkpoint another account or command wrote."""
    if not isinstance(saved, dict):
        raise ExportConfigError(f"{checkpoint} is not a checkpoint this tool wrote (unreadable); "
                                "start over with --restart")
    differ = [k for k in identity if saved.get(k) != identity[k]]
    if differ:
        was = ", ".join(f"{k} {saved.get(k)!r}" for k in differ)
        raise ExportConfigError(f"{checkpoint} belongs to another run ({was}; this one: "
                                f"{', '.join(f'{k} {identity[k]!r}' for k in differ)}): resuming would mix two "
                                "accounts or commands in one file. Start over with --restart, or use another --output")


def check_part(part: Path, offset: Any, tail: Any, checkpoint: Path) -> int:
    """The offset to continue `part` from, after checking the file holds what the checkpoint recorded."""
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ExportConfigError(f"{checkpoint} records no usable offset ({offset!r}); start over with --restart")
    try:
        size = os.stat(part, follow_symlinks=False).st_size
    except FileNotFoundError:
        raise ExportConfigError(f"{part} is gone, but {checkpoint} says {offset:,} bytes were written there: "
                                "nothing to continue. Start over with --restart") from None
    if size < offset or not isinstance(tail, str) or prefix_digest(part, offset) != tail:
        raise ExportConfigError(f"{part} does not hold what {checkpoint} recorded (cut, changed or replaced): "
                                "continuing it would lose or mix records. Start over with --restart")
    return offset


def refuse_silent_restart(checkpoint: Path, *, resume: bool, restart: bool) -> None:
    """A checkpoint waits and neither --resume nor --restart was given: ask; with --restart, clear it."""
    if resume or not checkpoint.exists():
        return
    if restart:
        checkpoint.unlink(missing_ok=True)
        return
    raise ExportConfigError(f"an interrupted run left {checkpoint}: continue it with --resume (nothing done is "
                            "redone), or start over with --restart")

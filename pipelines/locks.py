"""One lock per target, taken before any work: two runs never write the same thing at once.

A target is what a run writes: an export's output, an import's journal, a backup
folder, a restore's state, a warehouse pipeline. The lock is a file beside it
(`PATH.lock`, or `DIR/.lock` for a folder that is ours), held with `flock`: the
kernel releases it when the process dies, kill -9 included, so a lock is never
stale. The file says who holds it (pid, host, start time, command) so the second
run can name the holder. A target that has no local path (a bucket key, a dlt
pipeline) is locked through a file under the user's cache folder named by a hash.

The second run refuses at once (`TargetLocked`, exit 2), or waits up to
`--wait-lock SECONDS` (set for the whole run with `lock_wait`).
"""

from __future__ import annotations

import contextvars
import fcntl
import hashlib
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import orjson

from .errors import UsageError

POLL = 0.2  # seconds between tries while waiting for a lock
lock_wait: contextvars.ContextVar[float] = contextvars.ContextVar("lock_wait", default=0.0)


class TargetLocked(UsageError):
    """Another run holds the target's lock. Exit code 2: nothing was done."""


def sidecar(path: Path) -> Path:
    """The lock file of an output or journal: `PATH.lock`, beside it (a target named `*.lock` is
    refused: it could be another run's lock file)."""
    if path.name.endswith(".lock"):
        raise UsageError(f"{path}: names ending in .lock are kept for the lock files of runs; choose another name")
    return path.with_name(path.name + ".lock")


def inside(folder: Path) -> Path:
    """The lock file of a folder that is ours (a backup, a restore's state): `DIR/.lock`."""
    return folder / ".lock"


def named(kind: str, name: str) -> Path:
    """The lock file of a target with no local path (a bucket key, a dlt pipeline)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "helpspace" / "locks"
    return base / f"{kind}-{hashlib.sha256(name.encode()).hexdigest()[:24]}.lock"


@contextmanager
def hold(lock_file: Path, what: str, *, wait: float | None = None) -> Iterator[None]:
    """Hold `lock_file` for the block; `what` names the target in the refusal."""
    fd = _acquire(lock_file, what, lock_wait.get() if wait is None else wait)
    try:
        yield
    finally:
        _release(lock_file, fd)


def _acquire(lock_file: Path, what: str, wait: float) -> int:
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        try:
            lock_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise UsageError(f"can't take the lock {lock_file} for {what} ({exc.strerror}; a symlink, or a folder "
                             "that takes no files?): nothing was done") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            if time.monotonic() >= deadline:
                raise TargetLocked(
                    f"{what} is in use by another run ({holder}; lock {lock_file}). Wait for it to finish, "
                    "or pass --wait-lock SECONDS to wait; the lock goes when that process ends."
                ) from None
            time.sleep(POLL)
            continue
        # the holder before us may have removed the file as we opened it: hold the file that is there
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock_file, follow_symlinks=False))
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, orjson.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                   "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                   "command": " ".join(["helpspace", *sys.argv[1:3]])}))
        return fd


def _release(lock_file: Path, fd: int) -> None:
    """Remove the file while still holding it (a waiter then retries on the new one), then let go;
    only if the path is still our file (never another file that took its name)."""
    try:
        if os.path.samestat(os.fstat(fd), os.stat(lock_file, follow_symlinks=False)):
            lock_file.unlink()
    except FileNotFoundError:
        pass
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    """Who holds the lock, as its file says (written just after it was taken: may be empty for a moment)."""
    try:
        info = orjson.loads(os.pread(fd, 4096, 0))
        return f"pid {info['pid']} on {info['host']}, started {info['started_at']}, `{info['command']}`"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that is starting"

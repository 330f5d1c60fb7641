"""A backup folder as generations: a new backup never touches the previous complete one.

    DIR/generations/20261205T021500Z/       a complete backup (its manifest.json written last)
    DIR/generations/20261206T021500Z.incomplete/   one being written (or killed: removed next time)
    DIR/CURRENT                              {"generation": "20261205T021500Z"}: what restore reads

A backup is written into a new `.incomplete` folder, verified against its own manifest,
renamed to its final name and only then made current by rewriting CURRENT atomically. A
kill or a full disk at any point leaves CURRENT naming the previous complete generation.
Reading a generation trusts nothing in it: manifest entries are plain file names, every
file the backup needs is listed with its size and sha256, symlinks and other non-regular
files are refused, and reads stop at the listed size.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from .errors import InputError
from .files import write_json_atomic

GENERATIONS = "generations"
CURRENT = "CURRENT"
INCOMPLETE = ".incomplete"
MANIFEST = "manifest.json"
MAX_MANIFEST = 1 << 20  # bytes: a manifest lists a handful of files
MAX_POINTER = 4096  # bytes: CURRENT names one generation


def start(folder: Path) -> Path:
    """A new, empty generation folder to write into (stale incomplete ones from killed runs are removed)."""
    root = folder / GENERATIONS
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(f"*{INCOMPLETE}"):
        shutil.rmtree(stale, ignore_errors=True)
    name = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    building = root / f"{name}{INCOMPLETE}"
    building.mkdir()
    return building


def current(folder: Path) -> Path | None:
    """The complete generation a restore reads and a new backup reuses (None: there is none).
    A backup made before generations (manifest.json in DIR itself) counts as one. Symlinked
    generation folders are never taken; CURRENT is read bounded and ignored when unreadable."""
    pointer: Any = None
    try:
        pointer = orjson.loads(_read_regular(folder / CURRENT, MAX_POINTER))
    except (InputError, orjson.JSONDecodeError):
        pointer = None
    if isinstance(pointer, dict) and _plain(pointer.get("generation")):
        chosen = folder / GENERATIONS / pointer["generation"]
        if _real_folder(chosen) and (chosen / MANIFEST).is_file():
            return chosen
    complete = listing(folder)
    if complete:  # a run killed between its rename and CURRENT: the newest complete one
        return complete[-1]
    return folder if (folder / MANIFEST).is_file() else None


def _real_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def publish(folder: Path, building: Path, keep: int | None) -> tuple[Path, list[Path]]:
    """Make a verified generation current; with `keep`, remove all but the newest `keep` complete ones."""
    verify(building)
    final = building.with_name(building.name[: -len(INCOMPLETE)])
    os.replace(building, final)
    write_json_atomic(folder / CURRENT, {"generation": final.name})
    removed: list[Path] = []
    if keep is not None:
        for old in listing(folder)[:-keep]:
            if old != final:
                shutil.rmtree(old)
                removed.append(old)
    return final, removed


def listing(folder: Path) -> list[Path]:
    """Every complete generation, oldest first (real folders with a manifest; never a symlink)."""
    root = folder / GENERATIONS
    if not _real_folder(root):
        return []
    return sorted(p for p in root.iterdir()
                  if _real_folder(p) and not p.name.endswith(INCOMPLETE) and (p / MANIFEST).is_file())


def verify(generation: Path, needed: dict[str, str] | None = None) -> dict[str, Any]:
    """The generation's manifest, after checking every file it lists, and that each `needed` kind is
    listed under the file name a restore reads for it (a manifest can't vouch for another file)."""
    needed = needed or {}
    manifest = _read_manifest(generation)
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise InputError(f"{generation / MANIFEST} lists no files: not a backup this tool wrote")
    missing = [kind for kind in needed if kind not in files]
    if missing:
        raise InputError(f"{generation / MANIFEST} does not list {', '.join(missing)}: not restoring from it")
    moved = [kind for kind, name in needed.items() if isinstance(files[kind], dict) and files[kind].get("file") != name]
    if moved:
        raise InputError(f"{generation / MANIFEST} lists other files for {', '.join(moved)} than a backup writes: "
                         "not restoring from it")
    for kind, entry in files.items():
        if not isinstance(entry, dict) or not _plain(entry.get("file")) or not isinstance(entry.get("sha256"), str):
            raise InputError(f"{generation / MANIFEST}: the entry for {kind!r} is not a plain file name with a "
                             "checksum (a path outside the backup?): not restoring from it")
        _check_file(generation / entry["file"], entry.get("size"), entry["sha256"])
    return manifest


def file_entry(path: Path, records: int) -> dict[str, Any]:
    """What a manifest records of one data file."""
    size, digest = _digest(path, None)
    return {"file": path.name, "records": records, "size": size, "sha256": digest}


def _read_manifest(generation: Path) -> dict[str, Any]:
    path = generation / MANIFEST
    data = _read_regular(path, MAX_MANIFEST)
    try:
        manifest = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise InputError(f"{path} is not JSON: not a backup this tool wrote") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != "helpspace backup":
        raise InputError(f"{generation} is not a backup made by `helpspace backup` (no manifest.json)")
    return manifest


def _plain(name: Any) -> bool:
    return isinstance(name, str) and bool(name) and "/" not in name and "\\" not in name \
        and name not in (".", "..") and "\0" not in name


def _open_regular(path: Path) -> int:
    """A read-only descriptor of a regular file at `path`, never through a symlink."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise InputError(f"{path} is missing: the backup is incomplete") from None
    except OSError as exc:
        raise InputError(f"{path} can't be read safely ({exc.strerror}; a symlink?): not restoring from it") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError(f"{path} is not a regular file: not restoring from it")
    return fd


def _read_regular(path: Path, limit: int) -> bytes:
    fd = _open_regular(path)
    try:
        data = os.read(fd, limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise InputError(f"{path} is larger than a backup manifest can be: not restoring from it")
    return data


def _digest(path: Path, size: int | None) -> tuple[int, str]:
    """(bytes read, sha256), reading at most `size` + 1 bytes when a size is expected."""
    fd = _open_regular(path)
    digest, read = hashlib.sha256(), 0
    try:
        while True:
            want = 1 << 20 if size is None else min(1 << 20, size + 1 - read)
            if want <= 0:
                break
            block = os.read(fd, want)
            if not block:
                break
            digest.update(block)
            read += len(block)
    finally:
        os.close(fd)
    return read, digest.hexdigest()


def _check_file(path: Path, size: Any, sha256: str) -> None:
    expected = size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None
    read, digest = _digest(path, expected)
    if (expected is not None and read != expected) or digest != sha256:
        raise InputError(f"{path} does not match the backup's manifest (changed or cut): not restoring from it")

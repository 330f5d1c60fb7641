"""Files that appear only when complete: streamed outputs and small JSON state files.

Rows go to `PATH.part`, handed to one writer thread whenever 1 MB has gathered (memory
stays flat however fast rows come, and compressing and writing overlap the network);
`sync()` waits for the writer and fsyncs, and only then may a checkpoint record the
offset; `finish()` renames to PATH. The sha256 is computed as bytes are written. For `.gz`, every chunk is its own gzip member,
so a `.part` cut back to a recorded offset is still a valid gzip stream.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, BinaryIO

import orjson

from .errors import WriteFailed

WRITE_THROUGH = 1 << 20  # bytes gathered before they go to the file


class PartFile:
    """Append-only output with atomic completion; `offset` is the bytes durably written."""

    def __init__(self, path: Path, *, resume_offset: int | None = None) -> None:
        self.path = path
        self.part = path.with_name(path.name + ".part")
        self.gzip = path.name.endswith(".gz")
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._digest = hashlib.sha256()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="helpspace-writer")
        self._pending: list[Future[None]] = []
        self._failed: OSError | None = None  # a write error is sticky: nothing after it counts as written
        if resume_offset is not None and self.part.exists():
            self._fh: BinaryIO = open(self.part, "r+b")
            self._fh.truncate(resume_offset)
            hash_prefix(self._fh, self._digest, resume_offset)
            self._fh.seek(resume_offset)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.part, "wb")
        self.offset = self._fh.tell()

    def write(self, data: bytes) -> None:
        self._check()
        self._buffer.append(data)
        self._buffered += len(data)
        if self._buffered >= WRITE_THROUGH:
            self._write_through()

    def _write_through(self) -> None:
        if self._buffer:
            chunk = b"".join(self._buffer)
            self._buffer.clear()
            self._buffered = 0
            self._pending.append(self._writer.submit(self._append, chunk))

    def _append(self, chunk: bytes) -> None:
        """On the writer thread, one chunk at a time, in order; after a failure, nothing more."""
        if self._failed is not None:
            return
        data = gzip.compress(chunk, compresslevel=6) if self.gzip else chunk
        try:
            self._fh.write(data)
            self._fh.flush()
        except OSError as exc:
            self._failed = exc
            raise
        self._digest.update(data)

    def _check(self) -> None:
        if self._failed is not None:
            exc = self._failed
            raise WriteFailed(f"writing {self.part} failed: {exc.strerror or exc} (errno {exc.errno}); "
                              "the checkpoint records only what was written before it") from exc

    def sync(self) -> int:
        """Make everything written so far durable; returns the new offset. After a write error,
        every call raises `WriteFailed`: no checkpoint can ever record an unwritten byte."""
        self._check()
        self._write_through()
        pending, self._pending = self._pending, []
        for job in pending:
            try:
                job.result()
            except OSError:
                pass  # recorded in self._failed, raised just below
        self._check()
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:
            self._failed = exc
            self._check()
        self.offset = self._fh.tell()
        return self.offset

    def written_digest(self) -> str:
        """sha256 of every byte written so far (after `sync()`: of exactly `offset` bytes)."""
        return self._digest.copy().hexdigest()

    def finish(self) -> str:
        """Sync, close and rename into place; returns the file's sha256."""
        self.sync()
        if self.gzip and self.offset == 0:  # no rows: still a valid (empty) gzip file, never 0 bytes
            self._pending.append(self._writer.submit(self._append, b""))
            self.sync()
        self._fh.close()
        self._writer.shutdown()
        os.replace(self.part, self.path)
        return self._digest.hexdigest()

    def close(self) -> None:
        """Close without finishing: the .part stays for --resume (after a write error, unsynced)."""
        try:
            if not self._fh.closed and self._failed is None:
                self.sync()
        finally:
            self._writer.shutdown(wait=True)
            if not self._fh.closed:
                self._fh.close()

    def abandon(self) -> None:
        """Close and delete the .part (nothing useful was written)."""
        self._writer.shutdown(wait=True)
        if not self._fh.closed:
            self._fh.close()
        self.part.unlink(missing_ok=True)

    @property
    def closed(self) -> bool:
        return self._fh.closed


class StdoutFile:
    """`--output -`: stream to stdout; no .part, no resume."""

    gzip = False

    def __init__(self) -> None:
        self.path = Path("-")
        self.offset = 0

    def write(self, data: bytes) -> None:
        sys.stdout.buffer.write(data)

    def sync(self) -> int:
        sys.stdout.buffer.flush()
        return 0

    def finish(self) -> str:
        self.sync()
        return ""

    def close(self) -> None:
        self.sync()

    def abandon(self) -> None:
        self.sync()


def hash_prefix(fh: BinaryIO, digest: hashlib._Hash, length: int) -> None:
    """Feed the first `length` bytes of `fh` to `digest` (a resumed .part's hash, a checkpoint's check)."""
    fh.seek(0)
    remaining = length
    while remaining > 0:
        block = fh.read(min(1 << 20, remaining))
        if not block:
            break
        digest.update(block)
        remaining -= len(block)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def open_text_lines(path: Path) -> IO[bytes]:
    """Open a possibly gzipped file for reading bytes (multi-member gzip included)."""
    if path.name.endswith((".gz", ".gz.part")):
        return gzip.open(path, "rb")  # type: ignore[return-value]  # GzipFile reads bytes like any IO
    return open(path, "rb")


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to `path.tmp`, fsync, rename over `path`: a crash leaves the old or the new."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> Any | None:
    """The stored JSON, or None when there is none."""
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None

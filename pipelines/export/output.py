"""Where an export's rows go: the Writer, the local file or the bucket's staging copy, the
checkpoint (throttled), and the upload of a finished object-storage export."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .. import locks
from ..errors import WriteFailed
from ..formats import Writer, open_writer, read_written
from ..resume import refuse_silent_restart
from ..storage import RemoteOutput, check_local_output, is_remote
from .state import Checkpoint, load_checkpoint

CHECKPOINT_EVERY = 1.0  # seconds between durable checkpoints


class ExportOutput:
    """One export's output: `PATH` (or a staging copy of `s3://...`), `PATH.checkpoint.json`, `PATH.manifest.json`."""

    def __init__(self, output: str, fmt: str) -> None:
        self.format = fmt
        self.remote = RemoteOutput(output) if is_remote(output) else None
        self.stdout = output == "-"
        self.path = self.remote.staging if self.remote else Path(output)
        self.checkpoint_path = self.path.with_name(self.path.name + ".checkpoint.json")
        self.manifest_path = self.path.with_name(self.path.name + ".manifest.json")
        self.lock_file = (None if self.stdout else locks.named("output", output) if self.remote
                          else locks.sidecar(self.path))
        self.writer: Writer | None = None
        self.identity: dict[str, str] = {}
        self._last_checkpoint = 0.0

    def preflight(self, *, folder: bool = False) -> None:
        """Before any API work: the output can be written (a local path, or the bucket with these credentials)."""
        if self.remote is not None:
            self.remote.preflight()
        elif not self.stdout:
            check_local_output(self.path, folder=folder)

    def open(self, options: Any, fingerprint: dict[str, Any], identity: dict[str, str]) -> Checkpoint | None:
        """Open the writer; with --resume, continue the .part and return the saved checkpoint.

        A checkpoint left by an interrupted run is never ignored: without --resume it is
        refused (unless --restart), and with it, its account, options and .part are checked."""
        self.identity = identity
        saved = None
        if not self.stdout:
            refuse_silent_restart(self.checkpoint_path, resume=options.resume, restart=options.restart)
            if options.resume:
                saved = load_checkpoint(self.checkpoint_path, fingerprint, identity, self.part)
        self.writer = open_writer(self.format, self.path, with_messages=options.with_messages,
                                  formula_guard=options.formula_guard, partition_by=options.partition_by,
                                  resume_offset=saved.offset if saved else None)
        return saved

    @property
    def part(self) -> Path:
        return self.path.with_name(self.path.name + ".part")

    def written(self, saved: Checkpoint) -> Iterator[tuple[int, str | None]]:
        """(id, created_at) of what a resumed .part already holds."""
        return read_written(self.format, self.part) if saved.offset else iter(())

    def write(self, tickets: list[dict[str, Any]]) -> None:
        assert self.writer is not None
        self.writer.write(tickets)

    def checkpoint(self, make: Callable[[int], Checkpoint], *, force: bool = False) -> None:
        """Sync and save `make(offset)` at most every CHECKPOINT_EVERY seconds (or now, with `force`)."""
        out = self.writer
        if out is None or not out.resumable or getattr(out, "closed", False):
            return
        now = time.monotonic()
        if not force and now - self._last_checkpoint < CHECKPOINT_EVERY:
            return
        self._last_checkpoint = now
        checkpoint = make(out.sync())
        checkpoint.identity, checkpoint.tail = self.identity, out.written_digest()  # type: ignore[attr-defined]
        checkpoint.save(self.checkpoint_path)

    def stop(self, *, keep: bool, make: Callable[[int], Checkpoint]) -> None:
        """Interrupted or failed: keep what a resume needs (`keep`), or leave nothing behind."""
        if self.remote is not None:  # nothing was uploaded; the staging folder goes
            if self.writer is not None:
                self.writer.abandon()
            self.remote.cleanup()
            return
        if self.writer is None:
            return
        if not keep:
            self.writer.abandon()
            self.checkpoint_path.unlink(missing_ok=True)
            return
        try:
            self.checkpoint(make, force=True)
        except WriteFailed:
            pass  # the last good checkpoint stands; the error itself is already on its way up
        finally:
            self.writer.close()

    def finish(self) -> str:
        """Put the file in place; its sha256."""
        assert self.writer is not None
        digest = self.writer.finish()
        self.checkpoint_path.unlink(missing_ok=True)
        return digest

    async def upload(self, manifest: Path | None) -> str | None:
        """An object-storage export goes up now, whole; the URL (None for a local one)."""
        if self.remote is None:
            return None
        try:
            await asyncio.to_thread(self.remote.upload, self.path, manifest)
        finally:
            self.remote.cleanup()
        return self.remote.url

    @property
    def partitions(self) -> dict[str, int]:
        return self.writer.partitions if self.writer is not None else {}

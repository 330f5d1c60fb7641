"""The pipelines' own errors, in one tree (the client's are in helpspace_async.errors).

    PipelineError                   base of every error a pipeline raises on purpose
    ├── UsageError                  options or input that can't work; nothing was sent (exit 2)
    │   ├── ExportConfigError       an export that can't start as asked
    │   └── InputError              an import input that can't be read at all
    ├── RunStopped                  the run can't go on; progress is saved (exit 3)
    │   ├── AttachmentTooLarge      an attachment too big to embed: use --attachments DIR
    │   ├── CreateUnconfirmed       creates answered without proof, and lookups find nothing
    │   └── WriteFailed             the disk refused a write (full, quota, file size limit): sticky
    ├── UnsafePath                  a path that would lead outside the folder it must stay in
    ├── Rejected                    one record can't be sent; it goes to the rejects file
    └── Skipped                     one record that is not to be imported (deleted in the source)

A server that misbehaves raises the client's `ServerMisbehaved` (exit 3). The command
line maps classes to exit codes; anything else (a bare ValueError) is a bug and ends
with a traceback.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error raised on purpose by the pipelines."""


class UsageError(PipelineError):
    """Options or input that can't work as given; nothing was sent. Exit code 2."""


class ExportConfigError(UsageError):
    """The export can't start as asked (bad options, a checkpoint of another command)."""


class InputError(UsageError):
    """The import input can't be read at all (missing file, unknown format, bad mapping)."""


class RunStopped(PipelineError):
    """The run can't go on; what it did is saved (checkpoint or journal). Exit code 3."""


class AttachmentTooLarge(RunStopped):
    """An attachment over the embed limit: the message says to use --attachments DIR."""


class CreateUnconfirmed(RunStopped):
    """Creates keep being answered without proof and lookups find nothing; the journal keeps
    the intents, and a rerun of the same command looks them up again."""


class WriteFailed(RunStopped):
    """An output write failed (disk full, quota, file size limit). Sticky: the output accepts nothing
    more and no checkpoint records a byte after it; a rerun with --resume continues from the last one."""


class UnsafePath(PipelineError):
    """A path that points outside the folder it must stay in."""


class Rejected(PipelineError):
    """A record that can't be sent; `field_errors` says which fields and why."""

    def __init__(self, reason: str, field_errors: dict[str, list[str]] | None = None,
                 unresolved: list[tuple[str, str]] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field_errors = field_errors or {}
        self.unresolved = unresolved or []  # ("requester", "91"): an id the input named but didn't describe


class Skipped(PipelineError):
    """A record that should not be imported, by design (e.g. deleted in the source): counted, not rejected."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

"""The pipelines' own errors, in one tree (the client's are in helpspace_async.errors).

    PipelineError                   base of every error a pipeline raises on purpose
    ├── UsageError                  options or input that can't work; nothing was sent (exit 2)
    │   ├── ExportConfigError       an export that can't start as asked
    │   └── InputError              an import input that can't be read at all
    ├── ServerMisbehaved            the server's answers make no sense (exit 3, progress saved)
    ├── UnsafePath                  a path that would lead outside the folder it must stay in
    └── Rejected                    one record can't be sent; it goes to the rejects file

The command line maps classes to exit codes; anything else (a bare ValueError) is a
bug and ends with a traceback.
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


class ServerMisbehaved(PipelineError):
    """The server's answers make no sense (a listing that never ends, ids that aren't ids).

    The run stops with exit 3 and its progress saved; the message names the problem.
    """


class UnsafePath(PipelineError):
    """A path that points outside the folder it must stay in."""


class Rejected(PipelineError):
    """A record that can't be sent; `field_errors` says which fields and why."""

    def __init__(self, reason: str, field_errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field_errors = field_errors or {}

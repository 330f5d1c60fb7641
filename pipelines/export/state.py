"""Where an export is, as a typed value written atomically and read back by --resume."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ExportConfigError
from ..files import read_json, write_json_atomic
from ..resume import check_identity, check_part
from .plan import Segment


@dataclass
class Position:
    """The segment, stage and page an export has reached."""

    segment: int = 0
    stage: str = "scan"  # scan: the fast pass; verify: snapshot windows; rescan: a whole listing again
    pass_no: int = 0  # rescans of a listing that ignores created-between
    page: int = 0  # scan: the last page written
    last_ids: list[int] = field(default_factory=list)  # that page's ids: a resume checks them
    windows: list[list[str]] = field(default_factory=list)  # verify: windows not read yet
    evidence: dict[str, Any] | None = None  # scan: what the pass has seen so far
    resumed: bool = False  # not saved: set when a run continues from a checkpoint


@dataclass
class Checkpoint:
    """Everything a resumed run needs: the options it must match, the file offset, the position."""

    fingerprint: dict[str, Any]
    offset: int
    count: int
    position: Position
    segments: list[Segment]
    started_at: str
    identity: dict[str, str] = field(default_factory=dict)  # who wrote it (resume.run_identity)
    tail: str | None = None  # sha256 of every byte before `offset` (resume.prefix_digest; key kept as "tail")

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "offset": self.offset,
            "count": self.count,
            "position": {k: v for k, v in asdict(self.position).items() if k != "resumed"},
            "segments": [asdict(s) for s in self.segments],
            "started_at": self.started_at,
            "identity": self.identity,
            "tail": self.tail,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checkpoint:
        """The checkpoint in `data`; ValueError/KeyError/TypeError when it isn't one (tampered, cut)."""
        checkpoint = cls(
            fingerprint=data["fingerprint"],
            offset=data["offset"],
            count=data.get("count", 0),
            position=Position(**{**data["position"], "resumed": True}),
            segments=[Segment(**s) for s in data["segments"]],
            started_at=str(data["started_at"]),
            identity=data.get("identity") or {},
            tail=data.get("tail"),
        )
        pos = checkpoint.position
        numbers = (checkpoint.offset, checkpoint.count, pos.segment, pos.pass_no, pos.page)
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in numbers) \
                or pos.segment >= max(1, len(checkpoint.segments)) or not all(isinstance(i, int) for i in pos.last_ids):
            raise ValueError("numbers out of range")
        return checkpoint

    def save(self, path: Path) -> None:
        write_json_atomic(path, self.to_json())


def load_checkpoint(path: Path, fingerprint: dict[str, Any], identity: dict[str, str], part: Path) -> Checkpoint | None:
    """The saved checkpoint, None when there is none; refuses one of another account, command or
    options, one that can't be read, and one whose `.part` doesn't hold what it recorded."""
    try:
        saved = read_json(path)
    except ValueError:
        saved = []  # not JSON: refused below as unreadable
    if saved is None:
        return None
    check_identity(path, saved.get("identity") if isinstance(saved, dict) else saved, identity)
    if saved.get("fingerprint") != fingerprint:
        differ = sorted(k for k in fingerprint if saved.get("fingerprint", {}).get(k) != fingerprint[k])
        raise ExportConfigError(
            f"{path} belongs to an export with other options ({', '.join(differ)} differ). "
            "Rerun with the same options, or start over with --restart."
        )
    try:
        checkpoint = Checkpoint.from_json(saved)
    except (ValueError, KeyError, TypeError):
        raise ExportConfigError(f"{path} can't be read as a checkpoint (cut or edited); start over with --restart") from None
    check_part(part, checkpoint.offset, checkpoint.tail, path)
    return checkpoint

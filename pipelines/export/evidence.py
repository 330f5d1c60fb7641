"""Evidence that a listing changed while it was read, and the order it is listed in: pure.

Why this is enough: a ticket can be skipped only at a page boundary whose position
moved forward between reading the page before it and the page after it, i.e. more
tickets left the listing before that boundary than joined it. If `meta.total` reads the
same on every page, whatever left was matched by something that joined; and whatever
joins a listing (a new ticket, or one edited into the filter) carries an `updated_at`
from after the pass began, so it is seen when its page is read. A pass with constant
totals, no ticket seen twice and none changed since it began therefore skipped
nothing. Deletions alone move the total; creations show themselves. What we assume:
the server stamps `updated_at` (by its own clock, which we read from its Date header)
on every create and every edit; a ticket without a readable `updated_at` counts as
evidence, so a server without one is always verified.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


@dataclass
class Evidence:
    """What one pass over one listing saw that could mean it changed underneath us."""

    since: float  # epoch seconds (server clock) the pass began, minus a margin
    totals: list[int] = field(default_factory=list)  # [lowest, highest] meta.total seen
    duplicates: int = 0
    changed: int = 0  # tickets created or edited since `since`, or without a readable updated_at
    notes: list[str] = field(default_factory=list)  # other evidence (a resume found the listing moved)

    def page(self, items: list[dict[str, Any]], total: int | None, seen: set[int]) -> None:
        """Take in one page: its total, and its tickets before they are added to `seen`."""
        self.total(total)
        since_utc = self.since_utc
        for item in items:
            if item.get("id") in seen:
                self.duplicates += 1
            if self.is_change(item.get("updated_at"), since_utc):
                self.changed += 1

    def total(self, total: int | None) -> None:
        if total is not None:
            self.totals = [min(self.totals[0], total), max(self.totals[1], total)] if self.totals else [total, total]

    def is_change(self, stamp: Any, since_utc: str) -> bool:
        """Created or edited since the pass began (or no readable updated_at)."""
        if type(stamp) is str and len(stamp) == 25 and stamp.endswith("+00:00"):
            return stamp >= since_utc  # the API's own UTC format compares as text: no parsing per ticket
        parsed = epoch(stamp)
        return parsed is None or parsed >= self.since

    @property
    def since_utc(self) -> str:
        """`since` in the API's format, rounded down to the second (so equal-second stamps count as changed)."""
        try:
            return datetime.fromtimestamp(int(self.since), tz=timezone.utc).isoformat()
        except (OverflowError, ValueError, OSError):
            return "9999-12-31T23:59:59+00:00"

    @property
    def total_moved(self) -> bool:
        return len(self.totals) == 2 and self.totals[0] != self.totals[1]

    @property
    def found(self) -> bool:
        return self.total_moved or self.duplicates > 0 or self.changed > 0 or bool(self.notes)

    def reason(self) -> str:
        parts = []
        if self.total_moved:
            parts.append(f"total moved ({self.totals[0]}..{self.totals[1]})")
        if self.duplicates:
            parts.append(f"{self.duplicates} seen twice")
        if self.changed:
            parts.append(f"{self.changed} created or edited meanwhile")
        return ", ".join(parts + self.notes) or "none"

    def to_json(self) -> dict[str, Any]:
        return {"since": self.since, "totals": self.totals, "duplicates": self.duplicates, "changed": self.changed,
                "notes": self.notes}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Evidence:
        return cls(**data)


def epoch(stamp: Any) -> float | None:
    """ISO 8601 -> epoch seconds; None when absent or unreadable."""
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def listing_order(items: list[dict[str, Any]]) -> str:
    """How the server orders a listing, from the tickets of its first page(s).

    `id desc`, `id asc`, `created_at desc`, `created_at asc`, or `unknown`; the export's
    completeness does not depend on it (it is reported in the manifest).
    """
    ids: list[int] = [t["id"] for t in items if type(t.get("id")) is int]
    stamps: list[str] = [t["created_at"] for t in items if isinstance(t.get("created_at"), str)]
    by_created = ""
    if len(stamps) >= 2 and stamps == sorted(stamps, key=_instant, reverse=True):
        by_created = "created_at desc"
    elif len(stamps) >= 2 and stamps == sorted(stamps, key=_instant):
        by_created = "created_at asc"
    by_id = ""
    if len(ids) >= 2 and ids == sorted(ids, reverse=True):
        by_id = "id desc"
    elif len(ids) >= 2 and ids == sorted(ids):
        by_id = "id asc"
    if by_id and by_created and by_id.split()[1] == by_created.split()[1]:
        return f"{by_id} (created_at agrees)"
    return by_id or by_created or "unknown"


def _instant(stamp: str) -> float:
    return epoch(stamp) or 0.0

"""Which listings an export reads, and which pass comes next: pure decisions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from helpspace_async.protocol import date_range

MAX_RECENT_PASSES = 4
FAR_PAST, FAR_FUTURE = date(1970, 1, 1), date(9999, 12, 31)


@dataclass(frozen=True)
class Segment:
    """One filtered listing: `stable` (old tickets), `recent` (re-read until still) or `whole`."""

    kind: str
    created_between: str | None
    last_contact_between: str | None = None


def plan_segments(created_between: str | None, today: date) -> list[Segment]:
    """Split [the user's range] into stable (older than two days) and recent parts."""
    start, end = FAR_PAST, FAR_FUTURE
    if created_between:
        first, _, last = date_range(created_between).partition("/")
        start, end = date.fromisoformat(first), date.fromisoformat(last)
    cut = today - timedelta(days=2)
    segments = []
    if start <= min(end, cut):
        segments.append(Segment("stable", f"{start}/{min(end, cut)}"))
    if max(start, cut - timedelta(days=1)) <= end:  # one day of overlap with "stable"
        segments.append(Segment("recent", f"{max(start, cut - timedelta(days=1))}/{end}"))
    return segments


def ignores_date_filter(segments: list[Segment], total: int, in_recent: int | None) -> bool:
    """The last days hold nearly every ticket: the server ignores `created-between`."""
    return in_recent is not None and total >= 20 and len(segments) == 2 and in_recent > total * 0.9


def next_pass(segment: Segment, pass_no: int, was_descending: bool, changed: bool) -> bool | None:
    """None when the segment is complete; else whether the next pass reads downwards."""
    if not changed:
        return None
    if segment.kind == "stable":
        return None if was_descending else True
    if segment.kind == "recent":
        return False if pass_no + 1 < MAX_RECENT_PASSES else None
    # whole: down once (catches what deletions skipped), then up until still
    if pass_no == 0:
        return True
    return False if pass_no + 1 < MAX_RECENT_PASSES else None


def plan_windows(days: dict[date, int], start: date, end: date, *, target: int) -> list[tuple[date, date]]:
    """Contiguous day ranges covering [start, end], each holding at most `target` tickets
    by the counts in `days` (one day alone may hold more: it is read page by page).

    A range that fits in one page is read in one request: a consistent snapshot of it,
    whatever is created or deleted elsewhere meanwhile.
    """
    windows: list[tuple[date, date]] = []
    window_start, held = start, 0
    for day in sorted(d for d in days if start <= d <= end):
        count = days[day]
        if held and held + count > target:
            windows.append((window_start, day - timedelta(days=1)))
            window_start, held = day, 0
        held += count
    windows.append((window_start, end))
    return windows


def split_window(window: tuple[date, date]) -> list[tuple[date, date]]:
    """Two halves of a multi-day window that turned out fuller than a page."""
    first, last = window
    middle = first + (last - first) // 2
    return [(first, middle), (middle + timedelta(days=1), last)]


def creation_day(stamp: object) -> str | None:
    """The day a ticket was created, as `YYYY-MM-DD` text (cheap per ticket; parsed once when planning)."""
    return stamp[:10] if isinstance(stamp, str) and len(stamp) >= 10 else None


def windows_for(segment: Segment, days: dict[str | None, int], target: int) -> list[tuple[date, date]]:
    """The snapshot windows that cover `segment`, planned from the creation days seen."""
    first, last = FAR_PAST, FAR_FUTURE
    if segment.created_between:
        a, _, b = segment.created_between.partition("/")
        first, last = date.fromisoformat(a), date.fromisoformat(b)
    parsed: dict[date, int] = {}
    for day, count in days.items():
        if day is None:
            continue  # no created_at: such a ticket is in no created-between window anyway
        try:
            parsed[date.fromisoformat(day)] = count
        except ValueError:
            continue
    return plan_windows(parsed, first, last, target=target)

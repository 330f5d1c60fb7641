"""What an import did (or, in a dry run, would do): counters, the summary line, the report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

FIRST_DATES = 3  # dates shown in the dry run, so a wrong --source-tz is seen before anything is sent
SHOWN_IDS = 8  # unresolved ids and expiring links listed by name; the rest counted
UNRESOLVED = {"requester": "rejected", "assignee": "left unassigned", "group": "no team", "author": "named by id",
              "field": "tagged by id", "thread": "rejected"}  # what happens to a record that names one nobody described
RESOLVE_HINT = ("give them: the stream beside the tickets, side-loaded arrays, --users/--agents/--groups/--fields "
                "FILE, or --source-url with the source's credentials")


@dataclass
class ImportSummary:
    records: int = 0
    created: int = 0
    already_done: int = 0
    rejected: int = 0
    ambiguous_resolved: int = 0  # answers lost, ticket found on the server
    follow_ups: int = 0
    notes_skipped: int = 0
    tags_created: list[str] = field(default_factory=list)
    tags_dropped: list[str] = field(default_factory=list)
    would_send: int = 0  # dry run
    would_create: int = 0  # dry run: tickets a real run would create
    elapsed: float = 0.0
    source: str = "helpspace"
    source_detected: bool = False
    unmatched_assignees: set[str] = field(default_factory=set)
    flags: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    by_tag: Counter[str] = field(default_factory=Counter)
    by_assignee: Counter[str] = field(default_factory=Counter)
    downloaded: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # by reason, e.g. "deleted in source"
    unresolved: dict[str, set[str]] = field(default_factory=dict)  # "assignee" -> ids the input named, undescribed
    lookups: dict[str, int] = field(default_factory=dict)  # users/agents/groups/fields the input offered
    attachments: Counter[str] = field(default_factory=Counter)  # "downloaded from the source", "kept as links", ...
    expiring_links: list[str] = field(default_factory=list)  # kept links signed to expire (hosts and paths)
    first_dates: list[str] = field(default_factory=list)  # the first records' dates, as they will be sent

    def note_unresolved(self, found: list[tuple[str, str]]) -> None:
        for what, key in found:
            self.unresolved.setdefault(what, set()).add(key)

    def note_dates(self, line: int, record: dict[str, object]) -> None:
        if len(self.first_dates) < FIRST_DATES and record.get("created_at"):
            self.first_dates.append(f"line {line}: {record['created_at']}")

    def report(self) -> str:
        """The dry-run report: what would be created, and what has no target."""
        def top(counter: Counter[str]) -> str:
            return ", ".join(f"{k} {v}" for k, v in counter.most_common(12)) or "none"

        lines = [f"source: {self.source}" + (" (detected; --from to choose)" if self.source_detected else ""),
                 f"by status: {top(self.by_status)}", f"by tag: {top(self.by_tag)}",
                 f"by assignee: {top(self.by_assignee)}"]
        if self.flags:
            lines.append("flagged: " + top(self.flags))
        if self.follow_ups:
            lines.append(f"follow-up messages: {self.follow_ups:,} (after each ticket's first message)")
        if self.notes_skipped:
            lines.append(f"internal notes skipped: {self.notes_skipped} (--include-notes to import them)")
        for reason, count in self.skipped.most_common():
            lines.append(f"skipped ({reason}): {count}")
        if self.unmatched_assignees:
            lines.append("no matching agent (left unassigned): " + ", ".join(sorted(self.unmatched_assignees)))
        if self.lookups:
            lines.append("resolved from: " + ", ".join(f"{kind} {n:,}" for kind, n in sorted(self.lookups.items())))
        for what, keys in sorted(self.unresolved.items()):
            lines.append(f"unresolved {what}s ({UNRESOLVED.get(what, 'left out')}; {RESOLVE_HINT}): "
                         f"{len(keys):,} ({_some(keys)})")
        if self.attachments:
            lines.append("attachments: " + ", ".join(f"{what} {n:,}" for what, n in self.attachments.most_common()))
        if self.expiring_links:
            lines.append(f"links that will expire (signed for minutes; drop --keep-links to download them now): "
                         f"{len(self.expiring_links):,} ({_some(self.expiring_links)})")
        if self.first_dates:
            lines.append("first dates as they will be sent (UTC): " + "; ".join(self.first_dates))
        return "\n".join(lines)

    def line(self) -> str:
        made = f"would create {self.would_create:,}" if self.would_send else f"created {self.created:,}"
        parts = [made, f"already done {self.already_done:,}", f"rejected {self.rejected:,}",
                 f"ambiguous resolved {self.ambiguous_resolved:,}"]
        if self.follow_ups:
            parts.append(f"follow-up messages {self.follow_ups:,}")
        if self.notes_skipped:
            parts.append(f"internal notes skipped {self.notes_skipped:,}")
        for reason, count in self.skipped.most_common():
            parts.append(f"skipped ({reason}) {count:,}")
        if self.tags_created:
            parts.append(f"tags created: {', '.join(self.tags_created)}")
        if self.tags_dropped:
            parts.append(f"tags that HelpSpace will drop (missing, --no-create-tags): {', '.join(self.tags_dropped)}")
        if self.downloaded:
            parts.append(f"attachments downloaded from the source {self.downloaded:,}")
        if self.unmatched_assignees:
            parts.append(f"no agent for {', '.join(sorted(self.unmatched_assignees))} (left unassigned)")
        for what, keys in sorted(self.unresolved.items()):
            parts.append(f"unresolved {what}s {len(keys):,} ({_some(keys)})")
        if self.expiring_links:
            parts.append(f"links that will expire {len(self.expiring_links):,}")
        for flag, count in self.flags.most_common():
            parts.append(f"{flag}: {count}")
        return " · ".join(parts)


def _some(items: set[str] | list[str]) -> str:
    shown = sorted(items)[:SHOWN_IDS] if isinstance(items, set) else items[:SHOWN_IDS]
    return ", ".join(shown) + (f", and {len(items) - SHOWN_IDS:,} more" if len(items) > SHOWN_IDS else "")

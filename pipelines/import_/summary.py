"""What an import did (or, in a dry run, would do): counters, the summary line, the report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


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

    def report(self) -> str:
        """The dry-run report: what would be created, and what has no target."""
        def top(counter: Counter[str]) -> str:
            return ", ".join(f"{k} {v}" for k, v in counter.most_common(12)) or "none"

        lines = [f"source: {self.source}" + (" (detected; --from to choose)" if self.source_detected else ""),
                 f"by status: {top(self.by_status)}", f"by tag: {top(self.by_tag)}",
                 f"by assignee: {top(self.by_assignee)}"]
        if self.flags:
            lines.append("flagged: " + top(self.flags))
        if self.notes_skipped:
            lines.append(f"internal notes skipped: {self.notes_skipped} (--include-notes to import them)")
        for reason, count in self.skipped.most_common():
            lines.append(f"skipped ({reason}): {count}")
        if self.unmatched_assignees:
            lines.append("no matching agent (left unassigned): " + ", ".join(sorted(self.unmatched_assignees)))
        return "\n".join(lines)

    def line(self) -> str:
        parts = [f"created {self.created:,}", f"already done {self.already_done:,}", f"rejected {self.rejected:,}",
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
        for flag, count in self.flags.most_common():
            parts.append(f"{flag}: {count}")
        return " · ".join(parts)

"""A dry run: everything an import does except sending. Needs no credentials."""

from __future__ import annotations

from typing import Any

from .records import Plan
from .summary import ImportSummary

DRY_RUN_CONCURRENCY = 4


class DryRunClient:
    """Stands where the HelpSpace client would: it has the settings a run reads and sends nothing."""

    concurrency = DRY_RUN_CONCURRENCY

    async def request(self, method: str, path: str, **_: Any) -> Any:
        raise RuntimeError(f"a dry run sends nothing, yet {method} {path} was asked for")


class CountingSender:
    """Takes the place of ExactlyOnce: counts the requests a real run would send. `done` and `parts`
    are what the journal (read, never written) says is done, so the dry run predicts a rerun too."""

    def __init__(self, summary: ImportSummary, done: dict[str, int] | None = None,
                 parts: dict[str, int] | None = None) -> None:
        self.summary = summary
        self.done = done or {}
        self.parts = parts or {}

    def all_done(self, plan: Plan) -> bool:
        parts = self.parts.get(plan.key, len(plan.follow_ups))
        return all(k in self.done for k in [plan.key] + [f"{plan.key}#m{i}" for i in range(1, parts + 1)])

    async def send(self, plan: Plan, body: dict[str, Any], follow_bodies: list[dict[str, Any]]) -> None:
        self.summary.would_create += 1
        self.summary.would_send += 1 + len(follow_bodies)
        self.summary.follow_ups += len(follow_bodies)

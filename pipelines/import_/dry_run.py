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
    """Takes the place of ExactlyOnce: counts the requests a real run would send."""

    def __init__(self, summary: ImportSummary) -> None:
        self.summary = summary

    def all_done(self, plan: Plan) -> bool:
        return False

    async def send(self, plan: Plan, body: dict[str, Any], follow_bodies: list[dict[str, Any]]) -> None:
        self.summary.would_send += 1 + len(follow_bodies)
        self.summary.follow_ups += len(follow_bodies)

"""Nightly exports: only what changed since the last successful run, and retention.

STATE (a JSON file) records every successful run: when it started, what it wrote.
The next run exports the tickets created *or* last contacted since the day before the
previous run started (the API's filters are whole days; the overlap means nothing at
the day boundary is missed, and the dedupe by id drops what appears twice).

What an incremental run cannot see: a change that neither creates a ticket nor adds a
contact (a tag edit, a status change by an agent without a reply, a deletion). Run a
full export now and then (`--full`).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from helpspace_async import HelpSpaceClient

from .. import locks
from ..errors import ExportConfigError
from ..files import read_json, write_json_atomic
from ..formats import detect_format
from ..storage import check_local_output, is_remote, remove
from .exporter import Exporter, ExportOptions, ExportResult
from .plan import FAR_FUTURE, Segment


@dataclass
class NightlyOptions:
    state: Path
    full: bool = False
    keep: int | None = None
    snapshot: bool = False  # a full snapshot each run, reusing the last run's messages (--reuse)


@dataclass
class NightlyResult:
    export: ExportResult
    mode: str  # "full", "incremental" or "snapshot"
    since: str | None  # incremental: the day; snapshot: the previous run's file
    removed: list[str]


def incremental_segments(since: date) -> list[Segment]:
    """Created since, and last contacted since: two listings, deduped by id."""
    window = f"{since}/{FAR_FUTURE}"
    return [Segment("recent", window), Segment("recent", None, window)]


def _fingerprint(options: ExportOptions, fmt: str) -> dict[str, Any]:
    fp = options.fingerprint(fmt)
    fp.pop("created_between", None)
    return fp


async def run_nightly(client: HelpSpaceClient, options: ExportOptions, nightly: NightlyOptions) -> NightlyResult:
    """Export everything (first run, --full) or what changed since the last run; record it; prune."""
    if nightly.keep is not None and nightly.keep < 1:
        raise ExportConfigError("--keep must be at least 1")
    if options.output == "-":
        raise ExportConfigError("--since-last-run needs a file for --output (name it by date in the cron line)")
    if nightly.snapshot and not options.with_messages:
        raise ExportConfigError("--snapshot reuses messages from run to run: add --with-messages")
    check_local_output(nightly.state)
    with locks.hold(locks.sidecar(nightly.state), f"the nightly state {nightly.state}"):
        return await _run_nightly(client, options, nightly)


async def _run_nightly(client: HelpSpaceClient, options: ExportOptions, nightly: NightlyOptions) -> NightlyResult:
    state = read_json(nightly.state) or {"version": 1, "runs": []}
    fp = {**_fingerprint(options, detect_format(options.output, options.format)), "snapshot": nightly.snapshot}
    if state.get("fingerprint") not in (None, fp) and not nightly.full:
        raise ExportConfigError(f"{nightly.state} records runs with other options; use the same ones, or --full to start over")
    last = state["runs"][-1] if state["runs"] else None
    target = options.output if is_remote(options.output) else str(Path(options.output).resolve())
    earlier = [run for run in state["runs"] if run.get("output") == target and not run.get("deleted_at")]
    if earlier:  # e.g. the cron line run twice in one day: the day's good export must not be replaced
        raise ExportConfigError(
            f"{options.output} already holds the run of {earlier[-1]['started_at']} that {nightly.state} keeps: "
            "a new run would replace it. Name each run's output uniquely (e.g. tickets-$(date +%F-%H%M).jsonl.gz)")
    started = datetime.now(timezone.utc)
    since: date | None = None
    if nightly.snapshot:
        previous = last["output"] if last and not nightly.full and Path(last["output"]).is_file() else None
        options.reuse = previous
        result = await Exporter(client, options).run()
        return _record(state, fp, nightly, started, result, "snapshot" if previous else "full", previous)
    if last and not nightly.full:
        if options.created_between:
            raise ExportConfigError("--created-between can't be combined with an incremental run; use --full")
        since = datetime.fromisoformat(last["started_at"]).astimezone(timezone.utc).date() - timedelta(days=1)
        options.segments = incremental_segments(since)
    result = await Exporter(client, options).run()
    return _record(state, fp, nightly, started, result, "incremental" if since else "full",
                   since.isoformat() if since else None)


def _record(state: dict[str, Any], fp: dict[str, Any], nightly: NightlyOptions, started: datetime,
            result: ExportResult, mode: str, since: str | None) -> NightlyResult:
    """Add a successful run to STATE, prune old files, and say what was done."""
    state["fingerprint"] = fp
    state["runs"].append({
        "started_at": started.isoformat(),
        "finished_at": datetime.now(timezone.utc).isoformat(),
        "mode": mode,
        "since": since,
        "output": result.url or str(result.path.resolve()),
        "manifest": (result.url + ".manifest.json") if result.url else str(result.manifest.resolve()) if result.manifest else None,
        "tickets": result.count,
    })
    removed = prune(state, nightly.keep) if nightly.keep else []
    write_json_atomic(nightly.state, state)
    return NightlyResult(result, mode, since, removed)


def prune(state: dict[str, Any], keep: int) -> list[str]:
    """Delete the files of all but the newest `keep` runs; only files STATE recorded, never a kept one."""
    live = [run for run in state["runs"] if not run.get("deleted_at")]
    kept, older = live[-keep:], live[:-keep]
    protected = {run["output"] for run in kept} | {run.get("manifest") for run in kept}
    removed = []
    for run in older:
        for key in ("output", "manifest"):
            path = run.get(key)
            if not path or path in protected:
                continue
            if is_remote(path):
                remove(path)
                removed.append(path)
                continue
            target = Path(path)
            if target.is_dir():
                shutil.rmtree(target)
                removed.append(path)
            elif target.exists():
                os.remove(target)
                removed.append(path)
        run["deleted_at"] = datetime.now(timezone.utc).isoformat()
    return removed

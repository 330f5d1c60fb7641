"""`helpspace export customers|organizations`: every record, once, in JSONL(.gz), CSV or Parquet.

Completeness as for tickets (export/evidence.py): a pass that saw no evidence of change
(total constant, no record twice, none created or edited since it began) skipped
nothing. These listings have no documented filter to window them by, so a pass that saw
evidence is followed by another, until one sees none (best effort after MAX_PASSES, said
in the manifest). With `avatars`, each customer's avatar is embedded as base64 (one request
each), or saved as a file in `avatars_dir` (`{"mime_type", "path"}`, the path relative to
the output's folder when it can be, as ticket attachments are).

Resumable (JSONL and CSV): after each page the output is synced and `PATH.checkpoint.json`
records the page, the bytes written and the pass's evidence so far. `--resume` continues
from the next page with the records already written counted as seen, judged by the same
evidence (its start time included), so anything changed while it was stopped is caught by
the evidence rule and answered by another pass.
"""

from __future__ import annotations

import asyncio
import base64
import mimetypes
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from helpspace_async import HelpSpaceClient

from ..attachments import resolve_inside
from ..errors import ExportConfigError, UsageError
from ..export.evidence import Evidence
from ..files import write_json_atomic
from ..formats import detect_format, open_writer, read_written
from ..formats.fields import CUSTOMER_FIELDS, ORGANIZATION_FIELDS
from ..progress import Progress
from .kinds import Kind

MAX_PASSES = 4
FIELDS = {"customers": CUSTOMER_FIELDS, "organizations": ORGANIZATION_FIELDS}


@dataclass
class PeopleExport:
    path: Path
    count: int
    passes: int
    completeness: dict[str, Any]
    elapsed: float
    resumed_from: int = 0  # records already in the .part a --resume continued


def _load_checkpoint(path: Path, kind: Kind, fmt: str, avatars: bool) -> dict[str, Any]:
    if fmt == "parquet":
        raise ExportConfigError("a Parquet export can't be resumed (its footer is written last): run it without --resume")
    try:
        saved = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise ExportConfigError(f"nothing to resume: {path} is missing; run without --resume") from None
    wanted = {"kind": kind.name, "format": fmt, "avatars": avatars}
    differs = [k for k, v in wanted.items() if saved.get(k) != v]
    if differs:
        raise ExportConfigError(f"--resume with different options ({', '.join(differs)}) than the interrupted run: "
                                "run the same command again, or without --resume to start over")
    return dict(saved)


async def export_people(client: HelpSpaceClient, kind: Kind, output: str, *, avatars: bool = False,
                        progress: bool = True, fmt: str | None = None, resume: bool = False,
                        avatars_dir: Path | None = None) -> PeopleExport:
    path = Path(output)
    avatars = avatars or avatars_dir is not None
    try:
        fmt = detect_format(output, fmt)
    except UsageError as exc:
        raise ExportConfigError(str(exc)) from None
    checkpoint_path = path.with_name(path.name + ".checkpoint.json")
    saved = _load_checkpoint(checkpoint_path, kind, fmt, avatars) if resume else None
    started, seen = time.monotonic(), set[int]()
    out = open_writer(fmt, path, with_messages=False, fields=FIELDS[kind.name],
                      resume_offset=saved["offset"] if saved else None)
    if saved:
        seen.update(i for i, _ in read_written(fmt, path.with_name(path.name + ".part")))
    resumed_from = len(seen)
    bar = Progress(kind.name, enabled=progress)
    bar.start(None, f"export {kind.name}")
    try:
        status, passes, evidence = "best_effort", 0, None
        while passes < MAX_PASSES:
            first_page = 1
            if saved and passes == saved["passes"] - 1 and evidence is None:  # the interrupted pass, continued
                evidence, first_page = Evidence.from_json(saved["evidence"]), saved["page"] + 1
            else:
                evidence = Evidence(since=client.server_now() - 1.0)
            passes += 1
            async for page in kind.resource(client).pages(start_page=first_page):
                evidence.page(page.items, page.meta.total if page.meta else None, seen)
                fresh = [r for r in page.items if r.get("id") not in seen]
                seen.update(r["id"] for r in fresh)
                if avatars and kind.name == "customers":
                    await asyncio.gather(*(_add_avatar(client, r, avatars_dir, path) for r in fresh))
                out.write(fresh)
                bar.advance(len(fresh))
                if out.resumable:
                    write_json_atomic(checkpoint_path, {
                        "kind": kind.name, "format": fmt, "avatars": avatars, "passes": passes,
                        "page": page.number, "offset": out.sync(),
                        "evidence": evidence.to_json()})
            if not evidence.found:
                status = "verified"
                break
        bar.close()
        digest = out.finish()
    except BaseException:
        bar.close()
        out.close()  # keeps the .part and the checkpoint for --resume (Parquet: removed)
        raise
    checkpoint_path.unlink(missing_ok=True)
    completeness = {"status": status, "method": f"re-read until a pass saw no change ({passes} passes)"
                    if status == "verified" else f"still changing after {passes} passes: {evidence.reason() if evidence else ''}"}
    write_json_atomic(path.with_name(path.name + ".manifest.json"), {
        "file": path.name, "kind": kind.name, "format": fmt, "gzip": path.name.endswith(".gz"), kind.name: len(seen),
        "sha256": digest, "avatars": avatars, "completeness": completeness, "resumed_from": resumed_from,
        "finished_at": datetime.now(timezone.utc).isoformat(), "base_url": client.base_url})
    return PeopleExport(path, len(seen), passes, completeness, time.monotonic() - started, resumed_from)


async def _add_avatar(client: HelpSpaceClient, customer: dict[str, Any], folder: Path | None, output: Path) -> None:
    avatar = await client.customers.avatar(customer["id"])
    if avatar and folder is not None and isinstance(avatar.get("data"), str):
        extension = mimetypes.guess_extension(str(avatar.get("mime_type"))) or ".bin"
        target = resolve_inside(folder, f"{int(customer['id'])}{extension}")  # an id, checked: never outside
        target.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(target.write_bytes, base64.b64decode(avatar["data"]))
        try:
            where = target.resolve().relative_to(output.resolve().parent).as_posix()
        except ValueError:
            where = str(target.resolve())
        avatar = {"mime_type": avatar.get("mime_type"), "path": where}
    customer["avatar"] = avatar

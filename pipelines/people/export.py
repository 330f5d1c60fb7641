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
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from helpspace_async import HelpSpaceClient

from .. import locks
from ..attachments import resolve_inside
from ..boundary import person_problem, shown_id
from ..errors import ExportConfigError, UsageError
from ..export.evidence import Evidence
from ..export.output import ExportOutput
from ..files import write_json_atomic
from ..formats import detect_format, open_writer, read_written
from ..formats.fields import CUSTOMER_FIELDS, ORGANIZATION_FIELDS
from ..progress import Progress
from ..resume import check_identity, check_part, refuse_silent_restart, run_identity
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
    url: str | None = None  # where an object-storage export was uploaded
    problems: list[str] = field(default_factory=list)  # what the server sent that could not be kept


def _load_checkpoint(target: ExportOutput, kind: Kind, fmt: str, avatars: bool,
                     identity: dict[str, str]) -> dict[str, Any] | None:
    """The interrupted run's checkpoint, checked as every checkpoint is (resume.py), or None."""
    if fmt == "parquet":
        raise ExportConfigError("a Parquet export can't be resumed (its footer is written last): run it without --resume")
    path = target.checkpoint_path
    try:
        saved = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None  # interrupted before its first page was saved: nothing to continue, start at the beginning
    except orjson.JSONDecodeError:
        saved = None
    check_identity(path, saved.get("identity") if isinstance(saved, dict) else None, identity)
    assert isinstance(saved, dict)
    wanted = {"kind": kind.name, "format": fmt, "avatars": avatars}
    differs = [k for k, v in wanted.items() if saved.get(k) != v]
    if differs:
        raise ExportConfigError(f"--resume with different options ({', '.join(differs)}) than the interrupted run: "
                                "run the same command again, or start over with --restart")
    page, passes = saved.get("page"), saved.get("passes")
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (page, passes)) \
            or not isinstance(saved.get("evidence"), dict):
        raise ExportConfigError(f"{path} can't be read as a checkpoint (cut or edited); start over with --restart")
    check_part(target.part, saved.get("offset"), saved.get("tail"), path)
    return dict(saved)


async def export_people(client: HelpSpaceClient, kind: Kind, output: str, *, avatars: bool = False,
                        progress: bool = True, fmt: str | None = None, resume: bool = False,
                        restart: bool = False, avatars_dir: Path | None = None) -> PeopleExport:
    try:
        fmt = detect_format(output, fmt)
    except UsageError as exc:
        raise ExportConfigError(str(exc)) from None
    target = ExportOutput(output, fmt)  # the same output layer as tickets: local file, or a bucket's staging copy
    try:
        if target.stdout:
            raise ExportConfigError(f"export {kind.name} writes a file: name one with --output")
        if target.remote is not None and (resume or avatars_dir is not None):
            raise ExportConfigError("an export to object storage can't be resumed or save avatars as files "
                                    "(nothing is uploaded until it is complete): use --avatars, without --resume")
        await asyncio.to_thread(target.preflight)
        assert target.lock_file is not None
        with locks.hold(target.lock_file, f"the export to {output}"):
            refuse_silent_restart(target.checkpoint_path, resume=resume, restart=restart)
            done = await _export(client, kind, target, fmt, avatars=avatars or avatars_dir is not None,
                                 progress=progress, resume=resume, avatars_dir=avatars_dir)
            done.url = await target.upload(target.manifest_path)
            return done
    finally:
        if target.remote is not None:
            target.remote.cleanup()


async def _export(client: HelpSpaceClient, kind: Kind, target: ExportOutput, fmt: str, *, avatars: bool,
                  progress: bool, resume: bool, avatars_dir: Path | None) -> PeopleExport:
    path = target.path
    checkpoint_path = target.checkpoint_path
    identity = run_identity(client.base_url, client.client_id, f"export {kind.name}")
    saved = _load_checkpoint(target, kind, fmt, avatars, identity) if resume else None
    started, seen = time.monotonic(), set[int]()
    left_out: dict[str, str] = {}
    out = open_writer(fmt, path, with_messages=False, fields=FIELDS[kind.name],
                      resume_offset=saved["offset"] if saved else None)
    if saved:
        seen.update(i for i, _ in read_written(fmt, target.part))
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
                items = []
                for r in page.items:  # the boundary: ids name avatar files, dates become columns
                    problem = person_problem(r, kind.name)
                    if problem is None:
                        items.append(r)
                    else:
                        left_out[shown_id(r)] = problem
                evidence.page(items, page.meta.total if page.meta else None, seen)
                fresh = [r for r in items if r.get("id") not in seen]
                seen.update(r["id"] for r in fresh)
                if avatars and kind.name == "customers":
                    await asyncio.gather(*(_add_avatar(client, r, avatars_dir, path) for r in fresh))
                out.write(fresh)
                bar.advance(len(fresh))
                if out.resumable:
                    offset = out.sync()
                    write_json_atomic(checkpoint_path, {
                        "kind": kind.name, "format": fmt, "avatars": avatars, "passes": passes,
                        "page": page.number, "offset": offset, "tail": out.written_digest(),  # type: ignore[attr-defined]
                        "identity": identity, "evidence": evidence.to_json()})
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
    write_json_atomic(target.manifest_path, {
        "file": path.name, "kind": kind.name, "format": fmt, "gzip": path.name.endswith(".gz"), kind.name: len(seen),
        "sha256": digest, "avatars": avatars, "completeness": completeness, "resumed_from": resumed_from,
        "problems": [f"a record with id {rid} was left out: {why}" for rid, why in left_out.items()],
        "finished_at": datetime.now(timezone.utc).isoformat(), "base_url": client.base_url})
    return PeopleExport(path, len(seen), passes, completeness, time.monotonic() - started, resumed_from,
                        problems=[f"a record with id {rid} was left out: {why}" for rid, why in left_out.items()])


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

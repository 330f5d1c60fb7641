"""The Exporter in-process against the embedded server: a run resumed from a saved state."""

from __future__ import annotations

import orjson
import pytest

from helpspace_async.testing import HelpSpaceServer
from pipelines.export import Exporter, ExportOptions
from pipelines.export.state import load_checkpoint
from pipelines.resume import run_identity


class Stop(Exception):
    pass


async def test_a_run_stopped_mid_way_resumes_from_its_checkpoint_and_writes_each_ticket_once(tmp_path):
    out = tmp_path / "t.jsonl"
    async with HelpSpaceServer(tickets=300, seed=3) as server, server.client(concurrency=2) as client:
        options = ExportOptions(output=str(out), per_page=10, progress=False)
        first = Exporter(client, options)
        written = first._write_page

        async def stop_after_ten_pages(page, fresh, **kw):
            await written(page, fresh, **kw)
            if first.count >= 100:
                raise Stop()

        first._write_page = stop_after_ten_pages  # type: ignore[method-assign]
        with pytest.raises(Stop):
            await first.run()
        identity = run_identity(client.base_url, client.client_id, "export tickets")
        saved = load_checkpoint(out.with_name("t.jsonl.checkpoint.json"), options.fingerprint("jsonl"), identity,
                                out.with_name("t.jsonl.part"))
        assert saved is not None and saved.count >= 100 and not out.exists()
        resumed = await Exporter(client, ExportOptions(output=str(out), per_page=10, progress=False, resume=True)).run()
    ids = [orjson.loads(line)["id"] for line in out.read_bytes().splitlines()]
    assert sorted(ids) == list(range(1, 301)) and resumed.count == 300

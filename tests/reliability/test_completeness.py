"""The export's promise under any listing order and any churn: every ticket that exists for
the whole run is written exactly once, at a bounded cost, and a resume doesn't re-read.

The churn here is the hard kind: each listing request creates a ticket with a random
*past* created_at (a migration running meanwhile) and deletes a random one, so
`meta.total` never moves and new tickets land anywhere in the listing; 5% of requests
fail on top."""

from __future__ import annotations

import math

import orjson
import pytest

from helpspace_async.testing import HelpSpaceServer, ServerThread
from pipelines.export import Exporter, ExportOptions
from tests.e2e.cli import run

ORDERS = ["id_desc", "id_asc", "created_desc", "created_asc"]
TICKETS, PER_PAGE = 3000, 20
PAGES = math.ceil(TICKETS / PER_PAGE)


def exported(path) -> list[int]:
    return [orjson.loads(line)["id"] for line in path.read_bytes().splitlines()]


@pytest.mark.parametrize("order", ORDERS)
def test_every_ticket_that_existed_all_along_exactly_once_in_any_order(tmp_path, order):
    out = tmp_path / "t.jsonl"
    with ServerThread(tickets=TICKETS, seed=8, order=order, churn=1, churn_past=True, fault_rate=0.05) as server:
        done = run(["export", "tickets", "-o", str(out), "--per-page", str(PER_PAGE)], server, timeout=300)
        requests = server.realism.stats["requests"]
        deleted = set(server.store.deleted_log)
    assert done.returncode == 0, done.stderr.decode()
    ids = exported(out)
    assert len(ids) == len(set(ids)), "a ticket was written twice"
    assert len(deleted) > 200, "hundreds of mutations happened during the run"
    missing = set(range(1, TICKETS + 1)) - deleted - set(ids)
    assert not missing, f"{len(missing)} tickets that existed all along are missing"
    assert requests <= 2.5 * PAGES * 1.06 + 10  # ~2.5 passes' worth, plus the 5% faults' retries
    manifest = orjson.loads((tmp_path / "t.jsonl.manifest.json").read_bytes())
    assert manifest["completeness"]["status"] == "verified"
    assert any("snapshot windows" in s["method"] for s in manifest["completeness"]["segments"])
    assert manifest["listing_order"].split(" (")[0] in {"id desc", "id asc", "created_at desc", "created_at asc"}


@pytest.mark.parametrize("order", ORDERS)
def test_without_churn_one_pass_and_the_order_is_reported(tmp_path, order):
    out = tmp_path / "t.jsonl"
    with ServerThread(tickets=TICKETS, seed=8, order=order) as server:
        done = run(["export", "tickets", "-o", str(out), "--per-page", str(PER_PAGE)], server)
        requests = server.realism.stats["requests"]
    assert done.returncode == 0, done.stderr.decode()
    assert sorted(exported(out)) == list(range(1, TICKETS + 1))
    assert requests <= PAGES * 1.1
    manifest = orjson.loads((tmp_path / "t.jsonl.manifest.json").read_bytes())
    assert [s["method"] for s in manifest["completeness"]["segments"]] == ["one pass, no change seen"] * 2
    expected = {"id_desc": "id desc", "id_asc": "id asc", "created_desc": "id desc", "created_asc": "id asc"}[order]
    assert manifest["listing_order"].startswith(expected)  # seeded ids grow with created_at: both orders agree


class Stop(Exception):
    pass


async def interrupted_then_resumed(tmp_path, *, change_between: bool) -> tuple[int, int, list[int], set[int]]:
    """Stop an export after 46 pages of 150, maybe change the helpdesk, resume; (pages left, requests, ids, deleted)."""
    out = tmp_path / "t.jsonl"
    async with HelpSpaceServer(tickets=TICKETS, seed=3) as server, server.client(concurrency=2) as client:
        first = Exporter(client, ExportOptions(output=str(out), per_page=PER_PAGE, progress=False))
        written = first._write_page

        async def stop_at_46(page, fresh):
            await written(page, fresh)
            if page.number >= 46:
                raise Stop()

        first._write_page = stop_at_46  # type: ignore[method-assign]
        with pytest.raises(Stop):
            await first.run()
        if change_between:  # a colleague deletes a few old tickets and a migration adds some, while we're stopped
            for tid in (5, 100, 1000, 2990):
                await client.tickets.delete(tid)
            server.store.churn(server.realism.rng, 4, past=True)  # 4 created with old dates, 4 deleted at random
        deleted = set(server.store.deleted_log)
        before = server.realism.stats["requests"]
        await Exporter(client, ExportOptions(output=str(out), per_page=PER_PAGE, progress=False, resume=True)).run()
        requests = server.realism.stats["requests"] - before
    return PAGES - 46, requests, exported(out), deleted


async def test_a_resume_with_nothing_changed_reads_only_what_is_left(tmp_path):
    left, requests, ids, _ = await interrupted_then_resumed(tmp_path, change_between=False)
    assert sorted(ids) == list(range(1, TICKETS + 1))
    assert requests <= left + 6  # the rest, the page it stopped at, the counts: not the whole segment again


async def test_a_resume_after_changes_stays_exact(tmp_path):
    left, requests, ids, deleted = await interrupted_then_resumed(tmp_path, change_between=True)
    assert len(ids) == len(set(ids))
    assert set(range(1, TICKETS + 1)) - deleted <= set(ids)
    assert requests <= left + 1.5 * PAGES  # the rest, then snapshot windows

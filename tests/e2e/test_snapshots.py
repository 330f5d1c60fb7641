"""Nightly full snapshots at the price of what changed (`--reuse`, `--since-last-run --snapshot`)."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import math
import time

import orjson

from helpspace_async.testing import ServerThread
from tests.e2e.cli import run

TICKETS = 400
REPLIED, RETAGGED, DELETED = [11, 12, 13, 250], [40, 41], [77, 300]


def tickets_in(path) -> dict[int, dict]:
    data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    return {t["id"]: t for t in map(orjson.loads, data.splitlines())}


def change_the_helpdesk(server) -> None:
    """What colleagues do during a day: reply to some tickets, retag others, delete a few."""

    async def work() -> None:
        async with server.client() as hs:
            for tid in REPLIED:
                await hs.messages(tid).create({"body": f"<p>a reply to {tid}</p>"})
            for tid in RETAGGED:
                await hs.tickets.update(tid, {"tags": ["vip", "billing"]})
            for tid in DELETED:
                await hs.tickets.delete(tid)

    asyncio.run(work())
    time.sleep(2.1)  # the day goes on: changes made in the last second before a run count as made during it


def test_a_reused_snapshot_equals_a_fresh_full_export_at_the_cost_of_the_changes(tmp_path):
    first, second, fresh = tmp_path / "day1.jsonl.gz", tmp_path / "day2.jsonl.gz", tmp_path / "fresh.jsonl.gz"
    options = ["--with-messages", "--attachments", "embed"]
    with ServerThread(tickets=TICKETS, seed=7) as server:
        assert run(["export", "tickets", "-o", str(first), *options], server).returncode == 0
        change_the_helpdesk(server)
        before = server.realism.stats["requests"]
        done = run(["export", "tickets", "-o", str(second), *options, "--reuse", str(first)], server)
        requests = server.realism.stats["requests"] - before
        assert done.returncode == 0, done.stderr.decode()
        assert run(["export", "tickets", "-o", str(fresh), *options], server).returncode == 0
    reused, full = tickets_in(second), tickets_in(fresh)
    assert reused == full  # every field, tag, message id and body, attachment's bytes
    assert not set(DELETED) & set(reused) and {t for t in REPLIED if reused[t]["messages"][-1]["body"].startswith("<p>a reply")}
    manifest = orjson.loads((tmp_path / "day2.jsonl.gz.manifest.json").read_bytes())
    changed = len(REPLIED) + len(RETAGGED)
    assert manifest["fetched"] == changed and manifest["reused"] == TICKETS - len(DELETED) - changed
    assert manifest["deleted_since_previous"] == {"count": 2, "ids": sorted(DELETED)}
    assert manifest["previous"]["sha256"] == hashlib.sha256(first.read_bytes()).hexdigest()
    attachments = sum(len(m.get("attachments") or []) for t in (REPLIED + RETAGGED) for m in full[t]["messages"])
    assert requests <= math.ceil(TICKETS / 50) + changed + attachments + 4  # the listing, the changes, counts
    assert b"messages reused for 392, fetched for 6" in done.stderr


def test_nightly_snapshots_chain_and_restore(tmp_path):
    state = tmp_path / "state.json"
    nightly = ["export", "tickets", "--with-messages", "--attachments", "embed", "--since-last-run", str(state), "--snapshot"]
    with ServerThread(tickets=TICKETS, seed=7) as server:
        assert run([*nightly, "-o", str(tmp_path / "n1.jsonl")], server).returncode == 0
        change_the_helpdesk(server)
        before = server.realism.stats["requests"]
        second = run([*nightly, "-o", str(tmp_path / "n2.jsonl"), "--keep", "1"], server)
        requests = server.realism.stats["requests"] - before
    assert second.returncode == 0, second.stderr.decode()
    assert b"snapshot reusing" in second.stderr and b"removed old export" in second.stderr
    assert not (tmp_path / "n1.jsonl").exists() and len(tickets_in(tmp_path / "n2.jsonl")) == TICKETS - len(DELETED)
    assert requests <= math.ceil(TICKETS / 50) + len(REPLIED) + len(RETAGGED) + 4 + 6  # + their attachments
    with ServerThread(tickets=0) as empty:  # a snapshot restores like any export
        restored = run(["import", "tickets", str(tmp_path / "n2.jsonl")], empty)
        assert restored.returncode == 0, restored.stderr.decode()
        assert len(empty.store.live) == TICKETS - len(DELETED)


def test_reuse_that_would_be_unsafe_is_refused(tmp_path):
    first = tmp_path / "a.jsonl"
    with ServerThread(tickets=30, seed=7) as server:
        assert run(["export", "tickets", "-o", str(first), "--with-messages"], server).returncode == 0
        bare = tmp_path / "bare.jsonl"
        assert run(["export", "tickets", "-o", str(bare)], server).returncode == 0
        cases = {
            "other status": ["-o", str(tmp_path / "b.jsonl"), "--with-messages", "--status", "open", "--reuse", str(first)],
            "embed": ["-o", str(tmp_path / "c.jsonl"), "--with-messages", "--attachments", "embed", "--reuse", str(first)],
            "csv": ["-o", str(tmp_path / "d.csv"), "--with-messages", "--reuse", str(first)],
            "without messages": ["-o", str(tmp_path / "e.jsonl"), "--with-messages", "--reuse", str(bare)],
            "missing": ["-o", str(tmp_path / "f.jsonl"), "--with-messages", "--reuse", str(tmp_path / "nope.jsonl")],
        }
        for why, args in cases.items():
            done = run(["export", "tickets", *args], server)
            assert done.returncode == 2, (why, done.stderr.decode())
            assert b"reuse" in done.stderr, why

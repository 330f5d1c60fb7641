"""The client against the embedded server over real loopback HTTP: what mocks can't show."""

from __future__ import annotations

import asyncio

import pytest

from helpspace_async import AmbiguousCreate, HelpSpaceClient, RateLimiter, RetryPolicy
from helpspace_async.testing import HelpSpaceServer
from tests.conftest import assert_only_probes

FAST = RetryPolicy(max_attempts=10, backoff_initial=0.01, backoff_max=0.05)


def new_ticket(n: int) -> dict:
    return {"subject": f"t{n}", "channel": {"id": 1}, "from_contact": {"email": f"c{n}@x.example"}, "message": {"body": "hi"}}


async def test_many_workers_share_one_pause_in_a_429_storm():
    # 25 requests per 1 s window; 16 workers want 150 pages. Without a shared budget
    # every worker would hit 429s each window (~90 in all); with it, only the few probes
    # that learn the window's length do (rounded headers are not believed).
    async with HelpSpaceServer(tickets=150 * 10, rate_limit=25, rate_window=1) as server:
        async with HelpSpaceClient(**server.client_settings, concurrency=16, retry=FAST) as hs:
            ids = [t["id"] async for t in hs.tickets.iter(per_page=10)]
        assert sorted(ids) == list(range(1, 1501))
        assert server.realism.stats["429"] == hs.stats.rate_limited
        assert_only_probes(server.realism)
        assert hs.limiter.window == 1 and hs.limiter.limit == 25


async def test_two_clients_of_one_token_share_a_limiter():
    limiter = RateLimiter()
    async with HelpSpaceServer(tickets=400, rate_limit=20, rate_window=1) as server:
        async with HelpSpaceClient(**server.client_settings, concurrency=8, rate_limiter=limiter, retry=FAST) as a, \
                HelpSpaceClient(**server.client_settings, concurrency=8, rate_limiter=limiter, retry=FAST) as b:
            got = await asyncio.gather(
                *([_collect(a.tickets.iter(per_page=10))] + [_collect(b.tickets.iter(per_page=10))])
            )
        assert all(len(ids) == 400 for ids in got)
        assert_only_probes(server.realism)


async def _collect(it) -> list[int]:
    return [t["id"] async for t in it]


async def test_dropped_connections_and_5xx_lose_nothing():
    async with HelpSpaceServer(tickets=2000, fault_rate=0.15, seed=5) as server:
        async with HelpSpaceClient(**server.client_settings, concurrency=8, retry=FAST) as hs:
            ids = [t["id"] async for t in hs.tickets.iter(per_page=50)]
        assert server.realism.stats["faults"] > 0
        assert len(ids) == len(set(ids)) == 2000 and hs.stats.retries >= 1


async def test_a_create_dropped_after_commit_is_ambiguous_and_not_resent():
    async with HelpSpaceServer(drop_after_create=1.0) as server:
        async with HelpSpaceClient(**server.client_settings, retry=FAST) as hs:
            with pytest.raises(AmbiguousCreate):
                await hs.tickets.create(new_ticket(1))
        assert len(server.store.live) == 1  # committed once, never resent


async def test_attachment_download_streams_the_stored_bytes(tmp_path):
    async with HelpSpaceServer(tickets=300, seed=2) as server:
        async with HelpSpaceClient(**server.client_settings) as hs:
            found = None
            for tid in range(1, 300):
                for m in [m async for m in hs.messages(tid).iter(additional_types=["internal"])]:
                    if m["attachments"]:
                        found = m["attachments"][0]
                        break
                if found:
                    break
            assert found is not None
            expected = server.store.attachment(found["id"])[2]
            assert await hs.media.download(found["url"]) == expected
            path = await hs.media.download(found["id"], tmp_path / "f.bin")
            assert path.read_bytes() == expected and not (tmp_path / "f.bin.part").exists()


async def test_crud_round_trip_and_soft_delete():
    async with HelpSpaceServer() as server:
        async with HelpSpaceClient(**server.client_settings) as hs:
            created = await hs.tickets.create({**new_ticket(1), "tags": ["vip", "nope"], "status": "escaleted"})
            assert created["tags"] == ["vip"] and created["status"] == "escaleted"
            updated = await hs.tickets.update(created["id"], {"tags": ["bug"]})
            assert updated["tags"] == ["bug"]
            assert (await hs.tickets.get(created["id"]))["tags"] == ["bug"]
            assert await hs.tickets.delete(created["id"]) is True
            assert await hs.tickets.delete(created["id"]) is False

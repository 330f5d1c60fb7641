"""The embedded server's own behaviour: the API as documented, and its realism knobs."""

from __future__ import annotations

import base64

import aiohttp
import pytest

from helpspace_async.testing import HelpSpaceServer


async def call(server, method, path, json=None, headers=None):
    h = {"Authorization": f"Bearer {server.token}", "Hs-Client-Id": server.client_id}
    h.update(headers or {})
    async with aiohttp.ClientSession() as s:
        async with s.request(method, server.base_url + path, json=json, headers=h) as r:
            return r.status, dict(r.headers), await r.json(content_type=None)


def body(**over):
    b = {"subject": "Hello", "channel": {"id": 1}, "from_contact": {"email": "a@b.example", "name": "A"}, "message": {"body": "<p>x</p>"}}
    b.update(over)
    return b


async def test_auth_needs_both_headers():
    async with HelpSpaceServer() as server:
        assert (await call(server, "GET", "/api/v1/tickets", headers={"Hs-Client-Id": "wrong"}))[0] == 401
        status, _, data = await call(server, "GET", "/api/v1/tickets", headers={"Authorization": "Bearer nope"})
        assert status == 401 and data == {"message": "Unauthenticated."}


async def test_pagination_envelope_and_edges():
    async with HelpSpaceServer(tickets=101, seed=1) as server:
        status, _, page = await call(server, "GET", "/api/v1/tickets?page=3&per-page=50")
        assert status == 200 and [t["id"] for t in page["data"]] == [1]
        assert page["meta"] == {**page["meta"], "current_page": 3, "last_page": 3, "total": 101, "from": 101, "to": 101}
        assert page["links"]["next"] is None and "per-page" not in page["links"]["prev"]
        assert (await call(server, "GET", "/api/v1/tickets?page=4&per-page=50"))[2]["data"] == []
        for bad in ("per-page=51", "per-page=0", "page=0", "page=x"):
            assert (await call(server, "GET", f"/api/v1/tickets?{bad}"))[0] == 422
        first = (await call(server, "GET", "/api/v1/tickets?per-page=5"))[2]["data"]
        assert [t["id"] for t in first] == [101, 100, 99, 98, 97]  # newest first


async def test_filters():
    async with HelpSpaceServer(tickets=300, seed=4) as server:
        _, _, page = await call(server, "GET", "/api/v1/tickets?status[]=open&status[]=spam&per-page=50")
        assert page["data"] and {t["status"] for t in page["data"]} <= {"open", "spam"}
        _, _, page = await call(server, "GET", "/api/v1/tickets?tags[]=vip&per-page=50")
        assert page["data"] and all("vip" in t["tags"] for t in page["data"])
        _, _, page = await call(server, "GET", "/api/v1/tickets?created-between=2020-01-01/2020-12-31&per-page=50")
        assert page["data"] and all(t["created_at"].startswith("2020") for t in page["data"])
        assert (await call(server, "GET", "/api/v1/tickets?created-between=2020"))[0] == 422


async def test_create_validation_reports_fields():
    async with HelpSpaceServer() as server:
        status, _, data = await call(server, "POST", "/api/v1/tickets", json={"channel": {"id": 99}, "status": "escalated"})
        assert status == 422
        assert {"subject", "channel.id", "from_contact.email", "message", "status"} <= set(data["errors"])


async def test_the_five_megabyte_limits():
    big = base64.b64encode(b"x" * (5 * 1024 * 1024 + 1)).decode()
    async with HelpSpaceServer() as server:
        status, _, data = await call(server, "POST", "/api/v1/tickets", json=body(message={"body": "x", "attachments": [{"name": "a", "data": big}]}))
        assert status == 422 and "message.attachments" in data["errors"]
        status, _, data = await call(server, "POST", "/api/v1/tickets", json=body(message={"body": "x" * (5 * 1024 * 1024 + 1)}))
        assert status == 422 and "message.body" in data["errors"]


async def test_only_existing_tags_apply_and_tags_can_be_created():
    async with HelpSpaceServer() as server:
        _, _, t = await call(server, "POST", "/api/v1/tickets", json=body(tags=["vip", "brand-new"]))
        assert t["data"]["tags"] == ["vip"]
        assert (await call(server, "POST", "/api/v1/tags", json={"name": "brand-new", "type": "ticket"}))[0] == 201
        assert (await call(server, "POST", "/api/v1/tags", json={"name": "brand-new"}))[0] == 422
        _, _, t = await call(server, "PATCH", f"/api/v1/tickets/{t['data']['id']}", json={"tags": ["brand-new"]})
        assert t["data"]["tags"] == ["brand-new"]


async def test_rate_limit_headers_and_429():
    async with HelpSpaceServer(rate_limit=3, rate_window=60) as server:
        remaining = [int((await call(server, "GET", "/api/v1/tickets"))[1]["X-RateLimit-Remaining"]) for _ in range(3)]
        assert remaining == [2, 1, 0]
        status, headers, data = await call(server, "GET", "/api/v1/tickets")
        assert status == 429 and data["message"] == "Too Many Attempts."
        assert 1 <= int(headers["Retry-After"]) <= 60 and int(headers["X-RateLimit-Reset"]) > 0


async def test_persistence_across_restarts(tmp_path):
    db = str(tmp_path / "hs.sqlite")
    async with HelpSpaceServer(tickets=50, seed=9, db=db) as server:
        _, _, t = await call(server, "POST", "/api/v1/tickets", json=body(message={"body": "kept", "attachments": [{"name": "a.txt", "data": "aGk="}]}))
        new_id = t["data"]["id"]
        assert (await call(server, "DELETE", "/api/v1/tickets/7"))[0] == 200
        await call(server, "POST", "/api/v1/tags", json={"name": "persisted"})
        status, _, made = await call(server, "POST", "/api/v1/customers", json={"name": "Kept", "email": "kept@customer.example"})
        assert status == 201
        await call(server, "PATCH", f"/api/v1/customers/{made['data']['id']}/avatar", json={"mime_type": "image/png", "data": "aGk="})
        _, _, org = await call(server, "POST", "/api/v1/organizations", json={"name": "Kept Org", "tags": [
            server.store.tags["enterprise"]["id"]]})
        await call(server, "PATCH", f"/api/v1/organizations/{org['data']['id']}", json={"note": "patched"})
        seeded_customers = len(server.people.customers)
    async with HelpSpaceServer(tickets=0, seed=0, db=db) as server:  # seed and count come from the db
        assert len(server.people.customers) == seeded_customers  # customers and organizations are kept too
        _, _, avatar = await call(server, "GET", f"/api/v1/customers/{made['data']['id']}/avatar")
        assert avatar["data"] == {"mime_type": "image/png", "data": "aGk="}
        _, _, kept = await call(server, "GET", f"/api/v1/organizations/{org['data']['id']}")
        assert kept["data"]["note"] == "patched" and [t["name"] for t in kept["data"]["tags"]] == ["enterprise"]
        assert (await call(server, "GET", "/api/v1/tickets/7"))[0] == 404
        _, _, page = await call(server, "GET", "/api/v1/tickets?per-page=1")
        assert page["meta"]["total"] == 50
        _, _, msgs = await call(server, "GET", f"/api/v1/tickets/{new_id}/messages")
        att = msgs["data"][0]["attachments"][0]
        assert msgs["data"][0]["body"] == "kept"
        async with aiohttp.ClientSession() as s:
            async with s.get(att["url"], headers={"Authorization": f"Bearer {server.token}", "Hs-Client-Id": server.client_id}) as r:
                assert await r.read() == b"hi"
        assert "persisted" in server.store.tags


async def test_seed_is_deterministic():
    async with HelpSpaceServer(tickets=30, seed=11) as a:
        one = (await call(a, "GET", "/api/v1/tickets?per-page=30"))[2]["data"]
    async with HelpSpaceServer(tickets=30, seed=11) as b:
        two = (await call(b, "GET", "/api/v1/tickets?per-page=30"))[2]["data"]
    assert one == two
    subjects = " ".join(t["subject"] for t in one)
    assert any(ch in subjects for ch in ('"', ",", "\n"))


@pytest.mark.parametrize("knob", [{"churn": 2}])
async def test_churn_changes_the_listing_while_it_is_read(knob):
    async with HelpSpaceServer(tickets=100, **knob) as server:
        await call(server, "GET", "/api/v1/tickets")
        await call(server, "GET", "/api/v1/tickets")
        assert len(server.store.created_log) == 4 and len(server.store.deleted_log) == 4

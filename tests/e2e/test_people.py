"""Customers and organizations: exported and imported between two embedded servers, field by field."""

from __future__ import annotations

import asyncio
import base64

import orjson

from helpspace_async import ValidationError
from helpspace_async.testing import ServerThread
from pipelines.people.kinds import CUSTOMERS, ORGANIZATIONS
from tests.e2e.cli import run

AVATAR = base64.b64encode(b"\x89PNG tiny").decode()


def lines(path) -> list[dict]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines()]


def test_people_move_between_helpdesks_exactly_once(tmp_path):
    customers, orgs = tmp_path / "customers.jsonl", tmp_path / "organizations.jsonl.gz"
    with ServerThread(tickets=120, seed=4) as source:
        async def give_avatar() -> None:
            async with source.client() as hs:
                await hs.customers.set_avatar(next(iter(sorted(source.people.customers))), "image/png", AVATAR)

        asyncio.run(give_avatar())
        done = run(["export", "customers", "-o", str(customers), "--avatars"], source)
        assert done.returncode == 0, done.stderr.decode()
        assert run(["export", "organizations", "-o", str(orgs)], source).returncode == 0
        expected = {c["email"]: c for c in source.people.customers.values()}
        expected_orgs = {o["name"]: o for o in source.people.organizations.values()}
    manifest = orjson.loads((tmp_path / "customers.jsonl.manifest.json").read_bytes())
    assert manifest["customers"] == len(expected) and manifest["completeness"]["status"] == "verified"

    with ServerThread(tickets=0) as target:
        first = run(["import", "customers", str(customers)], target)
        assert first.returncode == 0, first.stderr.decode()
        assert run(["import", "organizations", str(orgs)], target).returncode == 0
        again = run(["import", "customers", str(customers)], target)
        assert again.returncode == 0 and b"created 0" in again.stderr and f"already done {len(expected)}".encode() in again.stderr
        got = {c["email"]: c for c in target.people.customers.values()}
        got_orgs = {o["name"]: o for o in target.people.organizations.values()}
        avatars = list(target.people.avatars.values())
    assert set(got) == set(expected)
    for email, want in expected.items():
        assert CUSTOMERS.body(got[email]) == CUSTOMERS.body(want), email  # every field, created_at included
    assert set(got_orgs) == set(expected_orgs)
    for name, want in expected_orgs.items():
        assert ORGANIZATIONS.body(got_orgs[name]) == ORGANIZATIONS.body(want), name
    assert avatars == [{"mime_type": "image/png", "data": AVATAR}]


def test_existing_people_are_matched_not_duplicated_and_bad_ones_rejected(tmp_path):
    with ServerThread(tickets=30, seed=4) as server:
        some = sorted(server.people.customers.values(), key=lambda c: c["id"])[:3]
        records = [{**CUSTOMERS.body(c), "email": c["email"].upper(), "job_title": "Changed"} for c in some]
        records.append({"name": "New Person", "email": "new.person@customer.example", "city": "Graz"})
        records.append({"name": "Too long", "email": "long@customer.example", "postal_code": "123456789012345"})
        src = tmp_path / "people.jsonl"
        src.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
        before = len(server.people.customers)
        done = run(["import", "customers", str(src), "--update-existing"], server)
        assert done.returncode == 1, done.stderr.decode()
        assert b"created 1" in done.stderr and b"matched existing 3 (updated 3)" in done.stderr
        assert len(server.people.customers) == before + 1
        assert all(server.people.customers[c["id"]]["job_title"] == "Changed" for c in some)

        async def duplicate() -> str:
            async with server.client() as hs:
                try:
                    await hs.customers.create({"name": "Twin", "email": some[0]["email"]})
                except ValidationError as exc:
                    return str(exc.field_errors)
            return ""

        assert "already been taken" in asyncio.run(duplicate())
    [reject] = lines(tmp_path / "people.jsonl.rejects.jsonl")
    assert reject["line"] == 5 and "postal_code" in reject["field_errors"]


def test_a_new_ticket_creates_its_customer(tmp_path):
    src = tmp_path / "t.jsonl"
    src.write_bytes(orjson.dumps({"subject": "Hi", "channel": {"id": 1}, "from_contact": {"email": "fresh@customer.example",
                                  "name": "Fresh"}, "message": {"body": "<p>x</p>"}}) + b"\n")
    with ServerThread(tickets=0) as server:
        assert run(["import", "tickets", str(src)], server).returncode == 0
        assert [c["email"] for c in server.people.customers.values()] == ["fresh@customer.example"]

"""Customers and organizations: exported and imported between two embedded servers, field by field."""

from __future__ import annotations

import asyncio
import base64

import orjson
import pytest

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


def test_people_exports_in_csv_and_parquet(tmp_path):
    import csv

    import pyarrow.parquet as pq

    from pipelines.formats.csv_format import columns
    from pipelines.formats.fields import CUSTOMER_FIELDS

    with ServerThread(tickets=60, seed=4) as source:
        done = run(["export", "customers", "-o", str(tmp_path / "c.csv")], source)
        assert done.returncode == 0, done.stderr.decode()
        assert run(["export", "organizations", "-o", str(tmp_path / "o.parquet")], source).returncode == 0
        customers = {c["email"]: c for c in source.people.customers.values()}
        orgs = {o["name"]: source.people.organization(oid) for oid, o in source.people.organizations.items()}
    with open(tmp_path / "c.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == columns(False, CUSTOMER_FIELDS)  # the documented customer fields, then `extra`
    assert {r["email"]: (r["name"], r["city"] or None) for r in rows} == {e: (c["name"], c["city"]) for e, c in customers.items()}
    table = pq.read_table(tmp_path / "o.parquet").to_pylist()
    assert {r["name"] for r in table} == set(orgs)
    for row in table:
        org = orgs[row["name"]]
        assert row["is_domain_assignable"] is org["is_domain_assignable"]  # typed: a boolean column
        assert orjson.loads(row["tags"]) == org["tags"] and orjson.loads(row["custom_fields"]) == org["custom_fields"]


async def test_an_interrupted_people_export_resumes_after_its_last_page(tmp_path):
    from helpspace_async.testing import HelpSpaceServer
    from pipelines.errors import ExportConfigError
    from pipelines.people.export import export_people

    out = tmp_path / "customers.jsonl"

    class Stop(Exception):
        pass

    async with HelpSpaceServer(tickets=400, seed=5) as server, server.client() as client:
        original = client.customers.pages

        async def three_pages(**kw):
            count = 0
            async for page in original(**kw):
                yield page
                count += 1
                if count == 3:
                    raise Stop()

        client.customers.pages = three_pages  # type: ignore[method-assign]
        with pytest.raises(Stop):
            await export_people(client, CUSTOMERS, str(out), progress=False)
        assert not out.exists() and out.with_name("customers.jsonl.checkpoint.json").exists()
        client.customers.pages = original  # type: ignore[method-assign]
        with pytest.raises(ExportConfigError, match="different options"):
            await export_people(client, CUSTOMERS, str(out), progress=False, avatars=True, resume=True)
        before = server.realism.stats["requests"]
        done = await export_people(client, CUSTOMERS, str(out), progress=False, resume=True)
        requests = server.realism.stats["requests"] - before
        pages = -(-len(server.people.customers) // 50)
    ids = [orjson.loads(line)["id"] for line in out.read_bytes().splitlines()]
    assert sorted(ids) == sorted(server.people.customers) and len(ids) == len(set(ids))  # each customer once
    assert done.resumed_from == 150 and done.completeness["status"] == "verified"
    assert requests <= pages - 3 + 2  # the pages after the third, not the whole listing again


def test_avatars_as_files_beside_the_export(tmp_path):
    out, folder = tmp_path / "out" / "customers.jsonl", tmp_path / "out" / "avatars"
    with ServerThread(tickets=20, seed=4) as source:
        first = sorted(source.people.customers)[0]
        source.people.set_avatar(first, "image/png", AVATAR)
        done = run(["export", "customers", "-o", str(out), "--avatars-dir", str(folder)], source)
        assert done.returncode == 0, done.stderr.decode()
        email = source.people.customers[first]["email"]
    record = next(r for r in lines(out) if r["email"] == email)
    assert record["avatar"] == {"mime_type": "image/png", "path": f"avatars/{first}.png"}  # beside the export
    assert (folder / f"{first}.png").read_bytes() == base64.b64decode(AVATAR)
    moved = tmp_path / "elsewhere"
    (tmp_path / "out").rename(moved)  # a folder moved whole keeps working: paths are relative
    with ServerThread(tickets=0) as target:
        imported = run(["import", "customers", str(moved / "customers.jsonl")], target)
        assert imported.returncode == 0 and b"avatars 1" in imported.stderr, imported.stderr.decode()
        assert list(target.people.avatars.values()) == [{"mime_type": "image/png", "data": AVATAR}]

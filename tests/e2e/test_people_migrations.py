"""People and companies from other helpdesks become customers and organizations: from an API
document with side-loaded organizations (Zendesk), from a connector's streams (Airbyte
source-freshdesk), and before their tickets with `import tickets --with-people`."""

from __future__ import annotations

import shutil

import orjson

from helpspace_async.testing import ServerThread
from tests.conftest import SAMPLES
from tests.e2e.cli import run


def copy(tmp_path, name):
    return shutil.copy(SAMPLES / "sources" / name, tmp_path / name)


def organization_by_name(server) -> dict[str, dict]:
    people = server.people
    return {o["name"]: people.organization(oid) for oid, o in people.organizations.items()}


def customer_by_email(server) -> dict[str, dict]:
    return {c["email"]: c for c in server.people.customers.values()}


def test_zendesk_users_and_side_loaded_organizations(tmp_path):
    src = copy(tmp_path, "zendesk-people.json")
    with ServerThread(tickets=0) as server:
        orgs = run(["import", "organizations", str(src)], server)
        assert orgs.returncode == 0, orgs.stderr.decode()
        assert b"source: zendesk (detected" in orgs.stderr and b"created 1" in orgs.stderr
        lima = organization_by_name(server)["Lima Comércio"]
        assert (lima["domain"], lima["is_domain_assignable"], lima["is_shared"]) == ("lima.example", True, True)
        assert sorted(t["name"] for t in lima["tags"]) == ["enterprise", "latam"]  # created as organization tags
        assert lima["custom_fields"] == {"account_tier": "gold"}
        assert "Renewal in March" in lima["note"] and "Other domains: lima.test" in lima["note"]

        customers = run(["import", "customers", str(src)], server)
        assert customers.returncode == 0, customers.stderr.decode()
        assert b"created 2" in customers.stderr and b"skipped (an agent in the source, not a customer) 1" in customers.stderr
        found = customer_by_email(server)
        ana, old = found["ana@lima.example"], found["old@legacy.example"]
        assert (ana["name"], ana["timezone"], ana["locale"]) == ("Ana Lima", "America/Sao_Paulo", "pt-BR")
        assert "Phone: +55 11 5555 0101" in ana["note"] and "Fields: contract_number=C-778" in ana["note"]
        assert old["timezone"] is None and "Time zone: Eastern Time (US & Canada)" in old["note"]  # a Rails name: kept in the note
        assert "bruno@helpdesk.example" not in found  # an agent stays an agent
        members = organization_by_name(server)["Lima Comércio"]["users"]
        assert [m["name"] for m in members] == ["Ana Lima"]  # joined by her email's domain

        again = run(["import", "customers", str(src)], server)
        assert again.returncode == 0 and b"created 0" in again.stderr and b"already done 2" in again.stderr


def test_freshdesk_contacts_and_companies_from_airbyte_streams_before_their_tickets(tmp_path):
    src = copy(tmp_path, "freshdesk-airbyte.jsonl")
    dry = run(["import", "tickets", str(src), "--with-people", "--dry-run"])
    assert dry.returncode == 0, dry.stderr.decode()
    assert b"people first: organizations 1 in the input, customers 2 in the input" in dry.stderr
    with ServerThread(tickets=0) as server:
        done = run(["import", "tickets", str(src), "--with-people"], server)
        assert done.returncode == 0, done.stderr.decode()
        lines = done.stderr.decode().splitlines()
        order = [next(i for i, x in enumerate(lines) if x.startswith(what)) for what in ("organizations:", "customers:", "imported")]
        assert order == sorted(order), lines  # organizations, then customers, then tickets
        jensen = organization_by_name(server)["Jensen ApS"]
        assert jensen["domain"] == "jensen.example" and jensen["is_domain_assignable"]
        mia = customer_by_email(server)["mia@customer.example"]
        assert (mia["name"], mia["locale"]) == ("Mia Jensen", "da") and "Phone: +45 1234 5678" in mia["note"]
        assert "Time zone: Copenhagen" in mia["note"]
        assert len(server.store.live) == 2
        again = run(["import", "tickets", str(src), "--with-people"], server)
        assert again.returncode == 0, again.stderr.decode()
        assert b"created 0" in again.stderr and len(server.people.organizations) == 1
    journals = sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".state.jsonl"))
    assert journals == ["freshdesk-airbyte.jsonl.customers.state.jsonl", "freshdesk-airbyte.jsonl.organizations.state.jsonl",
                        "freshdesk-airbyte.jsonl.state.jsonl"]
    assert all(orjson.loads(x) for x in (tmp_path / "freshdesk-airbyte.jsonl.customers.state.jsonl").read_bytes().splitlines())


def test_help_scout_customers_before_their_conversations(tmp_path):
    src = copy(tmp_path, "helpscout-singer.jsonl")
    with ServerThread(tickets=0) as server:
        done = run(["import", "tickets", str(src), "--with-people"], server)
        assert done.returncode == 0, done.stderr.decode()
        assert b"organizations:" not in done.stderr  # Help Scout has no companies to import
        kim = customer_by_email(server)["kim@customer.example"]
        assert kim["name"] == "Kim Lee" and "Phone: +82 2 555 0100" in kim["note"] and "Location: Seoul" in kim["note"]
        assert len(server.store.live) == 1


def test_help_scout_airbyte_streams_threads_once_and_customers_first(tmp_path):
    # Airbyte's source-help-scout asks conversations with embed=threads and also reads every
    # conversation's threads into conversation_threads, records without a conversation id:
    # each thread must arrive once, from the conversation
    src = copy(tmp_path, "helpscout-airbyte.jsonl")
    with ServerThread(tickets=0) as server:
        done = run(["import", "tickets", str(src), "--with-people"], server)
        assert done.returncode == 0, done.stderr.decode()
        assert b"detected source: helpscout" in done.stderr
        noa = customer_by_email(server)["noa@customer.example"]
        assert noa["name"] == "Noa Levi" and noa["job_title"] == "CTO" and "Phone: +972 4 555 0101" in noa["note"]
        (ticket,) = [server.store.tickets[i] for i in server.store.live]
        bodies = [m["body"] for m in server.store.messages_of(ticket["id"])]
    assert ticket["subject"] == "CSV export times out" and ticket["from_contact"]["value"] == "noa@customer.example"
    assert ticket["assignee"]["email"] == "ada@helpdesk.example" and ticket["status"] == "closed"
    assert {"exports", "field-order-channel-web-shop"} <= set(ticket["tags"])
    assert len(bodies) == 2 and bodies[0].startswith("<p>The export to CSV times out.</p>")
    assert bodies[1].startswith("<p>Fixed in today's release.</p>")


def test_with_people_on_an_input_without_people_says_so(tmp_path):
    src = copy(tmp_path, "zendesk.jsonl")
    with ServerThread(tickets=0) as server:
        done = run(["import", "tickets", str(src), "--with-people", "--keep-links"], server)
    assert b"--with-people: INPUT holds no users or companies" in done.stderr, done.stderr.decode()

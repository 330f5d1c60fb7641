"""Ids resolved from whatever the input offers: connector streams (Airbyte source-freshdesk,
Singer tap-helpscout), --users/--agents/--groups/--fields files, or the source's own API
(fetched once, cached for reruns). Fixture sources: samples/sources/README.md."""

from __future__ import annotations

import base64

import orjson
from aiohttp import web

from helpspace_async.testing import ServerThread
from helpspace_async.testing.threaded import HandlerThread
from tests.conftest import SAMPLES
from tests.e2e.cli import run

AUTHOR = "\n<p><small>— {}</small></p>"


def by_subject(server) -> dict[str, dict]:
    return {server.store.tickets[i]["subject"]: server.store.tickets[i] for i in server.store.live}


def bodies(server, ticket) -> list[str]:
    return [m["body"] for m in server.store.messages_of(ticket["id"])]


def import_sample(server, tmp_path, name: str, source: str) -> bytes:
    """Import a sample (copied: the journal goes beside it) and check the source was detected."""
    src = tmp_path / name
    src.write_bytes((SAMPLES / "sources" / name).read_bytes())
    done = run(["import", "tickets", str(src)], server)
    assert done.returncode == 0, done.stderr.decode()
    assert f"detected source: {source}".encode() in done.stderr
    connector = "Airbyte protocol messages" if "airbyte" in name else "Singer messages"
    assert done.stderr.decode().splitlines()[0] == f"reading {src} as JSONL, {connector}"  # what wrote it, said first
    return done.stderr


def test_freshdesk_airbyte_streams_resolve_people_groups_fields_and_outbound_authors(tmp_path):
    with ServerThread() as server:
        assert b"created 2" in import_sample(server, tmp_path, "freshdesk-airbyte.jsonl", "freshdesk")
        found = by_subject(server)
    login = found["Cannot log in"]
    assert login["from_contact"]["value"] == "mia@customer.example"  # requester_id through the contacts stream
    assert login["assignee"]["email"] == "ada@helpdesk.example"  # responder_id through agents (contact.email)
    assert login["team"]["name"] == "Billing"  # group_id through the groups stream
    assert "field-account-type-gold" in login["tags"]  # cf_account_type labelled by ticket_fields
    assert bodies(server, login)[1:] == [
        "<div>Please try resetting your password.</div>" + AUTHOR.format("Ada Agent &lt;ada@helpdesk.example&gt;, agent"),
        "<div>That worked, thanks!</div>" + AUTHOR.format("Mia Jensen &lt;mia@customer.example&gt;, customer")]
    quote = found["Your renewal quote"]
    assert quote["from_contact"]["value"] == "ola@customer.example"  # outbound: the customer is the requester...
    first = bodies(server, quote)[0]  # ...and the first message is the agent's
    assert first.startswith("<div>Here is the renewal quote you asked for.</div>" +
                            AUTHOR.format("Ada Agent &lt;ada@helpdesk.example&gt;, agent"))


def test_help_scout_singer_streams_join_threads_and_label_fields(tmp_path):
    with ServerThread() as server:
        import_sample(server, tmp_path, "helpscout-singer.jsonl", "helpscout")
        refund = by_subject(server)["Refund for order 88"]
    assert refund["from_contact"]["value"] == "kim@customer.example" and refund["status"] == "closed"
    assert refund["assignee"]["email"] == "chen@helpdesk.example"
    assert {"refund", "field-order-channel-web-shop"} <= set(refund["tags"])
    first, reply = bodies(server, refund)
    assert first.startswith("<p>I would like a refund for order 88.</p>")
    assert reply == "<p>Refunded today.</p>" + AUTHOR.format("Chen Wei &lt;chen@helpdesk.example&gt;, agent")


IDS_ONLY = [
    {"id": 21, "subject": "Ids everywhere", "status": "open", "requester_id": 91, "assignee_id": 92, "group_id": 5,
     "created_at": "2024-03-01T09:00:00Z", "tags": [], "custom_fields": [{"id": 360001, "value": "gold_plan"}],
     "comments": [{"id": 1, "public": True, "author_id": 91, "html_body": "<p>Hello</p>", "created_at": "2024-03-01T09:00:00Z"},
                  {"id": 2, "public": True, "author_id": 92, "html_body": "<p>Hi</p>", "created_at": "2024-03-01T10:00:00Z"}]},
]


KNOWN_USERS = {91: {"id": 91, "name": "Page One", "email": "one@customer.example", "role": "end-user"},
               92: {"id": 92, "name": "Ada Agent", "email": "ada@helpdesk.example", "role": "agent"}}


class ZendeskAPI(HandlerThread):
    """Zendesk's endpoints as documented: list pages by cursor (`meta.has_more`, `links.next`);
    Show Many Users (`/api/v2/users/show_many.json?ids=1,2`, at most 100 ids, unknown ids left out)."""

    def __init__(self, users: dict[int, dict] | None = None) -> None:
        self.users = KNOWN_USERS if users is None else users
        super().__init__()

    async def handle(self, request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        if request.path == "/api/v2/users/show_many.json":
            ids = [int(i) for i in request.query["ids"].split(",")]
            if len(ids) > 100:
                return web.json_response({"error": "InvalidValue", "description": "at most 100 ids"}, status=400)
            found = [self.users[i] for i in ids if i in self.users]
            return web.json_response({"users": found, "next_page": None, "previous_page": None, "count": len(found)})
        if request.path == "/api/v2/users.json" and "page[after]" not in request.query:
            return web.json_response({"users": [{"id": 91, "name": "Page One", "email": "one@customer.example", "role": "end-user"}],
                                      "meta": {"has_more": True, "after_cursor": "c1"},
                                      "links": {"next": f"{base}/api/v2/users.json?page[size]=100&page[after]=c1"}})
        if request.path == "/api/v2/users.json":
            return web.json_response({"users": [{"id": 92, "name": "Ada Agent", "email": "ada@helpdesk.example", "role": "agent"}],
                                      "meta": {"has_more": False}, "links": {"next": None}})
        if request.path == "/api/v2/groups.json":
            return web.json_response({"groups": [{"id": 5, "name": "Second Level"}], "meta": {"has_more": False}})
        if request.path == "/api/v2/ticket_fields.json":
            return web.json_response({"ticket_fields": [{"id": 360001, "title": "Plan", "type": "tagger",
                                                         "custom_field_options": [{"name": "Gold plan", "value": "gold_plan"}]}],
                                      "next_page": None, "count": 1})
        return web.json_response({"error": "RecordNotFound"}, status=404)


def test_ids_resolved_from_the_source_api_once_then_from_the_cache(tmp_path):
    src = tmp_path / "zd.jsonl"
    src.write_bytes(b"".join(orjson.dumps(t) + b"\n" for t in IDS_ONLY))
    api = ZendeskAPI()
    with api as host, ServerThread() as server:
        args = ["import", "tickets", str(src), "--source-user", "me@acme.example/token", "--source-token", "zd-api",
                "--source-url", host, "--dry-run"]
        dry = run(args, server)
        assert dry.returncode == 0, dry.stderr.decode()
        assert b"users: 2 of the 2 named asked of the source API" in dry.stderr
        assert b"resolved from: fields 1, groups 1, users 2" in dry.stderr
        fetched = len(api.seen)
        assert fetched == 3  # the named users at once, groups, fields; every one with the source's Basic credentials
        assert "/api/v2/users/show_many.json?ids=91,92" in [s.path_qs for s in api.seen]
        assert {s.headers.get("Authorization") for s in api.seen} == {"Basic " + base64.b64encode(b"me@acme.example/token:zd-api").decode()}
        done = run(args[:-1], server)  # the real run reads the cache
        assert done.returncode == 0, done.stderr.decode()
        assert len(api.seen) == fetched and b"read from the cache" in done.stderr
        ticket = by_subject(server)["Ids everywhere"]
    assert ticket["from_contact"]["value"] == "one@customer.example" and ticket["assignee"]["email"] == "ada@helpdesk.example"
    assert ticket["team"]["name"] == "Second Level" and "field-plan-gold-plan" in ticket["tags"]
    assert bodies(server, ticket)[1] == "<p>Hi</p>" + AUTHOR.format("Ada Agent &lt;ada@helpdesk.example&gt;, agent")
    assert sorted(p.name for p in (tmp_path / "zd.jsonl.source").iterdir()) == ["fields.jsonl", "groups.jsonl", "users-by-id.jsonl"]


def zendesk_ticket(n: int, requester: int) -> dict:
    return {"id": n, "subject": f"T{n}", "status": "open", "requester_id": requester, "created_at": "2024-03-01T09:00:00Z",
            "comments": [{"id": 1, "public": True, "author_id": requester, "html_body": "<p>x</p>",
                          "created_at": "2024-03-01T09:00:00Z"}]}


def test_named_users_are_asked_a_hundred_at_a_time_and_an_interrupted_fetch_goes_on(tmp_path):
    # a huge account's users are not listed whole: only the 230 the tickets name, 100 a call
    users = {i: {"id": i, "name": f"U{i}", "email": f"u{i}@customer.example", "role": "end-user"} for i in range(1000, 1230)}
    src = tmp_path / "zd.jsonl"
    src.write_bytes(b"".join(orjson.dumps(zendesk_ticket(i, 1000 + i)) + b"\n" for i in range(230)))
    cache = tmp_path / "zd.jsonl.source"
    cache.mkdir()  # an interrupted run had fetched the first 30
    (cache / "users-by-id.jsonl").write_bytes(b"".join(orjson.dumps(users[i]) + b"\n" for i in range(1000, 1030))
                                              + orjson.dumps(users[1030])[:20])  # killed while writing user 1030
    api = ZendeskAPI(users)
    with api as host:
        args = ["import", "tickets", str(src), "--source-user", "me@acme.example/token", "--source-token", "zd-api",
                "--source-url", host, "--dry-run"]
        dry = run(args)
        report = dry.stderr.decode()
        assert dry.returncode == 0, report
        assert "230 records read" in report and "users: 200 of the 230 named asked of the source API, 30 read" in report
        asked = [s.path_qs.split("ids=", 1)[1].split(",") for s in api.seen]
        assert [len(ids) for ids in asked] == [100, 100]  # no listing of every user, nothing asked twice
        assert sorted(int(i) for ids in asked for i in ids) == list(range(1030, 1230))
        again = run(args)
        assert again.returncode == 0 and len(api.seen) == 2  # the rerun reads the cache


def test_users_named_by_name_are_listed_whole(tmp_path):
    # a Zendesk CSV names its assignee by name: Show Many can't find names, the list can
    src = tmp_path / "zd.csv"
    src.write_text("ID,Requester,Requester ID,Requester email,Assignee,Subject,Status,Created at\n"
                   "7,Mia,601,mia@customer.example,Ada Agent,Hello,open,2024-03-01 09:00\n", encoding="utf-8")
    with ZendeskAPI() as host:
        dry = run(["import", "tickets", str(src), "--source-tz", "UTC", "--source-token", "zd-api", "--source-user",
                   "me@acme.example/token", "--source-url", host, "--dry-run"])
        report = dry.stderr.decode()
    assert dry.returncode == 0, report
    assert "users: 2 fetched from the source API" in report and "by assignee: ada@helpdesk.example 1" in report


def test_dry_run_lists_what_it_could_not_resolve_and_files_resolve_it(tmp_path):
    src = tmp_path / "zd.jsonl"
    src.write_bytes(b"".join(orjson.dumps(t) + b"\n" for t in IDS_ONLY))
    dry = run(["import", "tickets", str(src), "--dry-run"])
    report = dry.stderr.decode()
    assert dry.returncode == 1, report  # the requester can't be resolved: rejected, saying what to give
    assert "1 records read, 0 requests would be sent, 1 rejected" in report
    assert "unresolved requesters" in report and "--users/--agents/--groups/--fields FILE" in report
    assert "unresolved assignees (" in report and "unresolved groups (" in report  # a rejected record lists all it names

    users, groups, fields = tmp_path / "users.json", tmp_path / "groups.json", tmp_path / "fields.json"
    users.write_bytes(orjson.dumps({"users": [{"id": 91, "name": "One", "email": "one@customer.example"}]}))
    groups.write_bytes(orjson.dumps([{"id": 5, "name": "Second Level"}]))
    fields.write_bytes(orjson.dumps({"ticket_fields": [{"id": 360001, "title": "Plan",
                                                        "custom_field_options": [{"name": "Gold plan", "value": "gold_plan"}]}]}))
    dry = run(["import", "tickets", str(src), "--dry-run", "--users", str(users), "--groups", str(groups),
               "--fields", str(fields)])
    report = dry.stderr.decode()
    assert dry.returncode == 0, report
    assert "by tag: field-plan-gold-plan 1" in report
    assert "unresolved assignees (" in report and ": 1 (92)" in report  # agent 92 is in no file: listed, left unassigned
    assert "unresolved authors" in report and "unresolved groups" not in report and "unresolved requesters" not in report
    assert "first dates as they will be sent (UTC): line 1: 2024-03-01T09:00:00+00:00" in report
    assert "follow-up messages: 1 (after each ticket's first message)" in report

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


class ZendeskAPI(HandlerThread):
    """Zendesk's list endpoints as documented: cursor pages (`meta.has_more`, `links.next`)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str | None]] = []
        super().__init__(self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.path_qs, request.headers.get("Authorization")))
        base = f"http://{request.host}"
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
        assert b"users: 2 fetched from the source API" in dry.stderr and b"resolved from: fields 1, groups 1, users 2" in dry.stderr
        fetched = len(api.requests)
        assert fetched == 4  # two pages of users, groups, fields; every one with the source's Basic credentials
        assert {auth for _, auth in api.requests} == {"Basic " + base64.b64encode(b"me@acme.example/token:zd-api").decode()}
        done = run(args[:-1], server)  # the real run reads the cache
        assert done.returncode == 0, done.stderr.decode()
        assert len(api.requests) == fetched and b"read from the cache" in done.stderr
        ticket = by_subject(server)["Ids everywhere"]
    assert ticket["from_contact"]["value"] == "one@customer.example" and ticket["assignee"]["email"] == "ada@helpdesk.example"
    assert ticket["team"]["name"] == "Second Level" and "field-plan-gold-plan" in ticket["tags"]
    assert bodies(server, ticket)[1] == "<p>Hi</p>" + AUTHOR.format("Ada Agent &lt;ada@helpdesk.example&gt;, agent")
    assert sorted(p.name for p in (tmp_path / "zd.jsonl.source").iterdir()) == ["fields.jsonl", "groups.jsonl", "users.jsonl"]


def test_dry_run_lists_what_it_could_not_resolve_and_files_resolve_it(tmp_path):
    src = tmp_path / "zd.jsonl"
    src.write_bytes(b"".join(orjson.dumps(t) + b"\n" for t in IDS_ONLY))
    dry = run(["import", "tickets", str(src), "--dry-run"])
    report = dry.stderr.decode()
    assert dry.returncode == 1, report  # the requester can't be resolved: rejected, saying what to give
    assert "1 records read, 0 requests would be sent, 1 rejected" in report
    assert "unresolved requesters" in report and "--users/--agents/--groups/--fields FILE" in report

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

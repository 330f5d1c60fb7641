"""Migrations from what connectors and APIs really produce: Airbyte protocol messages, Airbyte raw
files, Help Scout's data.href, conversations without threads, Basic source auth, honest failures.
Fixture shapes and their sources: samples/sources/README.md."""

from __future__ import annotations

import base64
import shutil

import orjson
from aiohttp import web

from helpspace_async.testing import ServerThread
from helpspace_async.testing.threaded import HandlerThread
from tests.conftest import SAMPLES
from tests.e2e.cli import run


def by_subject(server) -> dict[str, dict]:
    return {server.store.tickets[i]["subject"]: server.store.tickets[i] for i in server.store.live}


def bodies(server, ticket) -> list[str]:
    return [m["body"].split("\n")[0] for m in server.store.messages_of(ticket["id"])]


def check_airbyte_import(done, server) -> None:
    assert done.returncode == 0, done.stderr.decode()
    assert b"detected source: zendesk" in done.stderr and b"created 2" in done.stderr
    assert b"skipped (deleted in source) 1" in done.stderr and b"rejected 0" in done.stderr
    found = by_subject(server)
    one = found["Airbyte ticket one"]
    assert one["from_contact"]["value"] == "ab1@customer.example"  # requester_id resolved through the users stream
    assert one["assignee"]["email"] == "bruno@helpdesk.example"
    assert bodies(server, one) == ["<p>First message of one</p>", "<p>Reply from agent</p>"]
    assert found["Airbyte ticket two"]["status"] == "closed" and "Deleted in Zendesk" not in found


def test_airbyte_protocol_messages_with_state_log_and_trace_lines(tmp_path):
    with ServerThread() as server:
        done = run(["import", "tickets", str(SAMPLES / "sources" / "zendesk-airbyte.jsonl"),
                    "--state", str(tmp_path / "j.jsonl"), "--rejects", str(tmp_path / "r.jsonl")], server)
        check_airbyte_import(done, server)
        assert done.stderr.decode().splitlines()[0].endswith("as JSONL, Airbyte protocol messages")


def test_airbyte_local_json_raw_files_one_per_stream(tmp_path):
    folder = shutil.copytree(SAMPLES / "sources" / "zendesk-airbyte-raw", tmp_path / "airbyte")
    with ServerThread() as server:
        done = run(["import", "tickets", str(folder), "--state", str(tmp_path / "j.jsonl"),
                    "--rejects", str(tmp_path / "r.jsonl")], server)
        check_airbyte_import(done, server)
        assert done.stderr.decode().splitlines()[0].endswith("as a folder of 3 per-stream JSONL files, Airbyte raw files")
        again = run(["import", "tickets", str(folder), "--state", str(tmp_path / "j.jsonl"),
                     "--rejects", str(tmp_path / "r.jsonl")], server)
        assert again.returncode == 0 and b"created 0" in again.stderr


class HelpScoutFiles(HandlerThread):
    """Help Scout's API: attachment data as JSON {"data": base64}, and a conversation's threads
    (`_embedded.threads`, paged by `_links.next`); it wants the bearer token."""

    FILE = b"\x89PNG receipt bytes"

    async def handle(self, request: web.Request) -> web.Response:
        if request.path == "/v2/conversations/10/threads" and request.query.get("page") != "2":
            return web.json_response({"_embedded": {"threads": [{"id": 2, "type": "message", "createdAt": "2023-01-11T10:00:00Z",
                                                                 "body": "<p>Answer</p>"}]},
                                      "_links": {"next": {"href": f"http://{request.host}/v2/conversations/10/threads?page=2"}}})
        if request.path == "/v2/conversations/10/threads":
            return web.json_response({"_embedded": {"threads": [{"id": 1, "type": "customer", "createdAt": "2023-01-11T09:00:00Z",
                                                                 "body": "<p>Question</p>"}]}, "_links": {}})
        return web.json_response({"data": base64.b64encode(self.FILE).decode()})


def test_help_scout_data_href_is_decoded_and_threadless_conversations_are_fetched_or_say_why(tmp_path):
    files = HelpScoutFiles()
    with files as host, ServerThread() as server:
        conversation = {"id": 9, "number": 9, "subject": "Receipt attached", "status": "closed", "mailboxId": 1,
                        "createdAt": "2023-01-10T09:00:00Z",
                        "primaryCustomer": {"first": "A", "last": "B", "email": "ab@customer.example"},
                        "_embedded": {"threads": [{"id": 1, "type": "customer", "createdAt": "2023-01-10T09:00:00Z",
                                                   "body": "<p>Here</p>", "_embedded": {"attachments": [
                                                       {"id": 5, "filename": "receipt.png", "mimeType": "image/png",
                                                        "_links": {"data": {"href": f"{host}/v2/conversations/9/attachments/5/data"}}}]}}]}}
        threadless = {"id": 10, "number": 10, "subject": "Listed without threads", "status": "active", "mailboxId": 1,
                      "primaryCustomer": {"email": "c@customer.example"}, "threads": 2}
        src = tmp_path / "helpscout.jsonl"
        src.write_bytes(orjson.dumps(conversation) + b"\n" + orjson.dumps(threadless) + b"\n")
        dry = run(["import", "tickets", str(src), "--dry-run"])  # without the source's API: rejected, saying why
        assert dry.returncode == 1, dry.stderr.decode()
        reasons = [orjson.loads(x)["reason"] for x in (tmp_path / "helpscout.jsonl.rejects.jsonl").read_bytes().splitlines()]
        assert len(reasons) == 1 and "without its threads" in reasons[0] and "embed=threads" in reasons[0]
        assert "--source-url https://api.helpscout.net" in reasons[0]
        files.seen.clear()  # the dry run had no token to send
        done = run(["import", "tickets", str(src), "--source-token", "hs-oauth", "--source-url", host], server)
        assert done.returncode == 0, done.stderr.decode()
        ticket = by_subject(server)["Receipt attached"]
        attachment = server.store.messages_of(ticket["id"])[0]["attachments"][0]
        assert server.store.attachment(attachment["id"])[2] == HelpScoutFiles.FILE  # the file, not its JSON wrapper
        fetched = by_subject(server)["Listed without threads"]  # its threads fetched from the API, in order
        assert [m["body"].split("\n")[0] for m in server.store.messages_of(fetched["id"])] == ["<p>Question</p>", "<p>Answer</p>"]
        asked = len(files.seen)
        again = run(["import", "tickets", str(src), "--source-token", "hs-oauth", "--source-url", host], server)
        assert again.returncode == 0 and b"already done 2" in again.stderr, again.stderr.decode()
        assert len(files.seen) == asked  # the threads came from the cache this time
    assert {s.headers.get("Authorization") for s in files.seen} == {"Bearer hs-oauth"}
    assert [s.path_qs for s in files.seen].count("/v2/conversations/10/threads") == 1


class ZendeskFiles(HandlerThread):
    async def handle(self, request: web.Request) -> web.Response:
        return web.Response(body=b"pdf bytes", content_type="application/pdf")


def test_basic_source_auth_and_a_refused_connection_named_with_its_cause(tmp_path):
    files = ZendeskFiles()
    with files as host, ServerThread() as server:
        ticket = {"id": 1, "subject": "With a file", "status": "open", "requester": {"email": "z@customer.example"},
                  "comments": [{"id": 1, "public": True, "html_body": "<p>see file</p>", "created_at": "2024-01-01T00:00:00Z",
                                "attachments": [{"file_name": "a.pdf", "content_url": f"{host}/attachments/token/a"}]}]}
        broken = {**ticket, "id": 2, "subject": "Unreachable file",
                  "comments": [{**ticket["comments"][0], "attachments": [{"file_name": "b.pdf",
                                                                         "content_url": "http://127.0.0.1:1/attachments/b?sig=SECRETSIG"}]}]}
        src = tmp_path / "zd.jsonl"
        src.write_bytes(orjson.dumps(ticket) + b"\n" + orjson.dumps(broken) + b"\n")
        done = run(["import", "tickets", str(src), "--from", "zendesk", "--source-user", "me@acme.example/token",
                    "--source-token", "zd-api-token", "--source-url", host], server)
    assert done.returncode == 1, done.stderr.decode()
    assert [s.headers.get("Authorization") for s in files.seen] == ["Basic " + base64.b64encode(b"me@acme.example/token:zd-api-token").decode()]
    [reject] = [orjson.loads(x) for x in (tmp_path / "zd.jsonl.rejects.jsonl").read_bytes().splitlines()]
    assert "http://127.0.0.1:1/attachments/b" in reject["reason"] and "cannot connect" in reject["reason"]
    assert "SECRETSIG" not in reject["reason"]  # a pre-signed query string is never printed


def test_an_api_document_with_side_loaded_users_and_a_users_file(tmp_path):
    """`GET /api/v2/tickets.json?include=users` shape: ids only on tickets and comments, users beside them."""
    tickets = [{"id": 11, "subject": "Ids only", "status": "pending", "requester_id": 91, "assignee_id": 92, "tags": [],
                "created_at": "2024-02-01T09:00:00Z", "via": {"channel": "email"},
                "comments": [{"id": 1, "public": True, "author_id": 91, "created_at": "2024-02-01T09:00:00Z", "html_body": "<p>Help</p>"},
                             {"id": 2, "public": True, "author_id": 92, "created_at": "2024-02-01T10:00:00Z", "html_body": "<p>On it</p>"}]},
               {"id": 12, "subject": "Nobody knows who", "status": "open", "requester_id": 99, "tags": [],
                "created_at": "2024-02-02T09:00:00Z", "comments": [{"id": 3, "public": True, "html_body": "<p>?</p>"}]}]
    users = [{"id": 91, "name": "Side Loaded", "email": "side@customer.example", "role": "end-user"},
             {"id": 92, "name": "Bruno", "email": "bruno@helpdesk.example", "role": "agent"}]
    document = tmp_path / "tickets.json"
    document.write_text(orjson.dumps({"tickets": tickets, "users": users, "next_page": None, "count": 2},
                                     option=orjson.OPT_INDENT_2).decode())
    with ServerThread() as server:
        done = run(["import", "tickets", str(document)], server)
        assert done.returncode == 1, done.stderr.decode()
        assert done.stderr.decode().splitlines()[0] == f"reading {document} as a JSON document (streamed)"
        one = by_subject(server)["Ids only"]
        assert one["from_contact"]["value"] == "side@customer.example" and one["assignee"]["email"] == "bruno@helpdesk.example"
        assert server.store.messages_of(one["id"])[1]["body"] == (
            "<p>On it</p>\n<p><small>— Bruno &lt;bruno@helpdesk.example&gt;, agent</small></p>")
    [reject] = [orjson.loads(x) for x in (tmp_path / "tickets.json.rejects.jsonl").read_bytes().splitlines()]
    assert "requester 99" in reject["reason"] and "--users FILE" in reject["reason"]

    plain = tmp_path / "export_2024_02_03_abc"  # Zendesk names exports without an extension
    plain.write_bytes(b"".join(orjson.dumps(t) + b"\n" for t in tickets[:1]))
    users_file = tmp_path / "users.json"
    users_file.write_text(orjson.dumps(users).decode())
    with ServerThread() as server:
        done = run(["import", "tickets", str(plain), "--users", str(users_file)], server)
        assert done.returncode == 0, done.stderr.decode()
        assert b"as JSONL (by its content)" in done.stderr
        assert by_subject(server)["Ids only"]["from_contact"]["value"] == "side@customer.example"

"""Imports from Zendesk, Freshdesk, Help Scout and a generic mapping, end to end.

The old helpdesk's attachment host is a local fake (it wants the source token, and
answers 403 for an expired link); HelpSpace is the embedded server.
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import orjson
import pytest
from aiohttp import web

from helpspace_async.testing import ServerThread
from helpspace_async.testing.threaded import HandlerThread
from tests.conftest import SAMPLES
from tests.e2e.cli import run

SOURCE_TOKEN = "src-token-123"


def file_bytes(path: str) -> bytes:
    return f"bytes of {path}".encode()


class FakeFileHost(HandlerThread):
    """The old helpdesk's file server: wants the token for Zendesk paths, 403 for an expired link."""

    async def handle(self, request: web.Request) -> web.Response:
        if "expired" in request.path:
            return web.Response(status=403, text="Request has expired")
        if request.path.startswith("/attachments/token") and request.headers.get("Authorization") != f"Bearer {SOURCE_TOKEN}":
            return web.Response(status=401, text="auth required")
        mime = "image/png" if request.path.endswith(".png") or "inl" in request.path or "inline" in request.path else "application/octet-stream"
        return web.Response(body=file_bytes(request.path), content_type=mime)


def sample(tmp_path: Path, name: str, host: str | None = None) -> Path:
    target = tmp_path / name
    text = (SAMPLES / "sources" / name).read_text(encoding="utf-8")
    if host:
        text = text.replace("https://acme.zendesk.com", host).replace("https://attachment.freshdesk.com", host)
    target.write_text(text, encoding="utf-8")
    return target


def tickets(server) -> dict[str, dict]:
    return {server.store.tickets[i]["subject"]: server.store.tickets[i] for i in server.store.live}


def messages(server, ticket) -> list[dict]:
    return server.store.messages_of(ticket["id"])


def rejects(path: Path) -> dict[int, dict]:
    return {r["line"]: r for r in map(orjson.loads, path.read_bytes().splitlines())}


def test_zendesk_json_export(tmp_path):
    with FakeFileHost() as host, ServerThread() as server:
        src = sample(tmp_path, "zendesk.jsonl", host)
        args = ["import", "tickets", str(src), "--source-token", SOURCE_TOKEN, "--source-url", host]
        done = run(args, server)
        assert done.returncode == 1, done.stderr.decode()  # the expired link (the deleted ticket is skipped, not rejected)
        assert b"detected source: zendesk" in done.stderr
        found = tickets(server)
        fire = found["Printer on fire"]
        assert fire["status"] == "waiting" and set(fire["tags"]) == {"hardware", "zendesk-hold", "priority-high", "type-incident",
                                                                     "field-360001-gold-plan"}
        assert fire["assignee"]["email"] == "ada@helpdesk.example" and fire["team"]["name"] == "Second Level S"
        assert fire["created_at"] == "2019-03-04T09:15:00+00:00" and fire["from_contact"]["name"] == "Zoë Müller"
        first, *rest = messages(server, fire)
        assert "Imported from Zendesk #1001" in first["body"]
        png = base64.b64encode(file_bytes("/attachments/token/inl1/")).decode()
        assert f"data:image/png;base64,{png}" in first["body"]  # inline image no longer points at Zendesk
        assert [a["name"] for a in first["attachments"]] == ["invoice.pdf"]
        assert server.store.attachment(first["attachments"][0]["id"])[2] == file_bytes("/attachments/token/abc/")
        # the private note is skipped by default; an author the export names only by id is said so
        assert [m["body"] for m in rest] == ["<p>We are on it.</p>\n<p><small>— Zendesk user 9, role unknown</small></p>"]
        assert b"unresolved authors 1 (9)" in done.stderr
        refund = found["Refund, please"]
        assert refund["status"] == "closed" and refund["assignee"] is None
        assert b"left-the-company@helpdesk.example" in done.stderr  # unmatched agent is listed
        huge = found["Huge thread (over 1 MB in Zendesk: exported without comments)"]
        assert "The first message, as plain text.<br>Second line." in messages(server, huge)[0]["body"]
        bad = rejects(tmp_path / "zendesk.jsonl.rejects.jsonl")
        assert sorted(bad) == [4] and "expired" in bad[4]["reason"] and "HTTP 403" in bad[4]["reason"]
        assert f"from {host}/attachments/token/expired/:".encode() in (tmp_path / "zendesk.jsonl.rejects.jsonl").read_bytes()
        assert b"skipped (deleted in source) 1" in done.stderr
        assert len(found) == 3

        again = run(args, server)
        assert b"created 0" in again.stderr and len(tickets(server)) == 3


def test_zendesk_notes_when_asked(tmp_path):
    with FakeFileHost() as host, ServerThread() as server:
        src = sample(tmp_path, "zendesk.jsonl", host)
        done = run(["import", "tickets", str(src), "--source-token", SOURCE_TOKEN, "--source-url", host,
                    "--include-notes", "--limit", "1"], server)
        assert done.returncode == 0, done.stderr.decode()
        fire = tickets(server)["Printer on fire"]
        bodies = [(m["type"], m["body"]) for m in messages(server, fire)[1:]]
        by_9 = "\n<p><small>— Zendesk user 9, role unknown</small></p>"
        assert bodies == [("internal", "<p>Internal: customer is VIP.</p>" + by_9), ("external", "<p>We are on it.</p>" + by_9)]


def test_zendesk_csv_in_a_local_time_zone(tmp_path):
    with ServerThread() as server:
        done = run(["import", "tickets", str(sample(tmp_path, "zendesk.csv")), "--source-tz", "Europe/Berlin"], server)
        assert done.returncode == 0, done.stderr.decode()
        found = tickets(server)
        invoice = found["Invoice, again"]
        assert invoice["created_at"] == "2021-03-28T00:30:00+00:00"  # 01:30 CET, the night the clocks change
        assert set(invoice["tags"]) == {"billing", "vip", "priority-urgent", "type-question"}
        assert found["多谢"]["created_at"] == "2021-07-01T10:00:00+00:00"  # CEST
        assert "carried no message text" in messages(server, invoice)[0]["body"]
        assert b"placeholder body (Zendesk CSV has no comments): 2" in done.stderr


def test_freshdesk_integer_codes_and_conversations(tmp_path):
    with FakeFileHost() as host, ServerThread() as server:
        done = run(["import", "tickets", str(sample(tmp_path, "freshdesk.jsonl", host))], server)
        assert done.returncode == 0, done.stderr.decode()
        found = tickets(server)
        reset = found["Cannot reset password"]
        assert reset["status"] == "open" and set(reset["tags"]) == {"login", "priority-high", "via-email", "type-incident",
                                                                    "field-cf_plan-pro"}
        first, *rest = messages(server, reset)
        assert "cid:" not in first["body"] and "data:image/png;base64," in first["body"]
        assert server.store.attachment(first["attachments"][0]["id"])[2].startswith(b"bytes of /data/helpdesk/attachments/production/1/")
        assert [m["body"] for m in rest] == ["<div>Did you try turning it off?</div>\n<p><small>— agent</small></p>",
                                             "<div>Yes, still broken. Log attached.</div>\n<p><small>— customer</small></p>"]
        assert rest[1]["attachments"][0]["name"] == "log.txt"
        assert found["Win a prize!!!"]["status"] == "spam"
        custom = found["Custom status"]
        assert custom["status"] == "open" and "freshdesk-status-6" in custom["tags"] and "via-chat" in custom["tags"]


def test_help_scout_threads_come_oldest_first(tmp_path):
    with ServerThread() as server:
        done = run(["import", "tickets", str(sample(tmp_path, "helpscout.jsonl"))], server)
        assert done.returncode == 0, done.stderr.decode()
        found = tickets(server)
        order = found["Order never arrived"]
        assert order["status"] == "waiting" and order["tags"] == ["shipping"]
        assert order["from_contact"]["name"] == "José Ñúñez" and order["assignee"]["email"] == "chen@helpdesk.example"
        first, *rest = messages(server, order)
        assert first["body"].startswith("<p>Where is my order?</p>") and "Imported from Help Scout #88" in first["body"]
        assert server.store.attachment(first["attachments"][0]["id"])[2] == b"help scout file bytes"
        assert [m["body"] for m in rest] == ["<p>It is on its way.</p>\n<p><small>— &lt;chen@helpdesk.example&gt;, agent</small></p>"]
        assert found["Tap output, snake_case"]["created_at"] == "2023-02-02T02:02:02+00:00"


def test_generic_mapping(tmp_path):
    shutil.copy(SAMPLES / "sources" / "generic-mapping.json", tmp_path)
    with ServerThread() as server:
        done = run(["import", "tickets", str(sample(tmp_path, "generic.jsonl")), "--from", "generic",
                    "--map", str(tmp_path / "generic-mapping.json"), "--source-tz", "Europe/Oslo"], server)
        assert done.returncode == 0, done.stderr.decode()
        found = tickets(server)
        one = found["Generic one"]
        assert one["status"] == "closed" and one["tags"] == ["alpha", "beta"]
        assert one["from_contact"]["value"] == "gen@customer.example"
        assert one["created_at"] == "2024-05-06T05:08:09+00:00"
        assert messages(server, one)[0]["body"] == "<p>Hello</p>\n<p>World</p>"
        assert found["Generic two"]["created_at"] == "2024-05-31T16:08:37+00:00"
    assert run(["import", "tickets", str(tmp_path / "generic.jsonl"), "--from", "generic"], None).returncode == 2


def test_dry_run_report(tmp_path):
    with FakeFileHost() as host:
        src = sample(tmp_path, "zendesk.jsonl", host)
        done = run(["import", "tickets", str(src), "--dry-run", "--source-token", SOURCE_TOKEN, "--source-url", host], None)
    report = done.stderr.decode()
    assert done.returncode == 1
    assert "source: zendesk (detected" in report and "by status: " in report and "waiting 2" in report
    assert "internal notes skipped: 1" in report and "ada@helpdesk.example 1" in report
    assert "no comments in the export (description used)" in report


def test_zendesk_csv_needs_its_time_zone_said_and_the_dry_run_shows_the_dates(tmp_path):
    src = sample(tmp_path, "zendesk.csv")
    refused = run(["import", "tickets", str(src), "--dry-run"], None, cwd=tmp_path)
    assert refused.returncode == 2 and b"--source-tz Europe/Berlin, or --source-tz UTC" in refused.stderr
    berlin = run(["import", "tickets", str(src), "--dry-run", "--source-tz", "Europe/Berlin"], None, cwd=tmp_path)
    assert berlin.returncode == 0, berlin.stderr.decode()
    [dates] = [x for x in berlin.stderr.decode().splitlines() if x.startswith("first dates as they will be sent (UTC)")]
    assert "2021-03-28T00:30:00+00:00" in dates  # 01:30 in Berlin, shown before anything is sent


@pytest.mark.parametrize("args", [["--source-tz", "Mars/Olympus"], ["--status-map", "nope.json"]])
def test_bad_source_options_exit_2(tmp_path, args):
    done = run(["import", "tickets", str(sample(tmp_path, "zendesk.csv")), "--dry-run", *args], None, cwd=tmp_path)
    assert done.returncode == 2


def test_zendesk_tap_output_with_separate_streams_is_joined(tmp_path):
    with ServerThread() as server:
        src = sample(tmp_path, "zendesk-singer.jsonl")
        done = run(["import", "tickets", str(src)], server)
        assert done.returncode == 0, done.stderr.decode()
        assert b"detected source: zendesk" in done.stderr and b"created 2" in done.stderr
        found = tickets(server)
        one = found["Tap ticket one"]
        assert one["from_contact"]["value"] == "tap1@customer.example" and one["from_contact"]["name"] == "Tap Customer"
        assert one["assignee"]["email"] == "bruno@helpdesk.example"  # assignee_id -> users stream -> agent
        assert [m["body"].split("\n")[0] for m in messages(server, one)] == ["<p>First message of one</p>", "<p>Reply from agent</p>"]
        assert found["Tap ticket two"]["status"] == "closed"
        again = run(["import", "tickets", str(src)], server)
        assert again.returncode == 0, again.stderr.decode()
        assert b"created 0" in again.stderr and b"already done 2" in again.stderr


def test_singer_streams_tell_the_source():
    from pipelines.sources import singer

    assert singer.detect([{"type": "RECORD", "stream": "conversations"}, {"type": "RECORD", "stream": "conversation_threads"}]) == "helpscout"
    assert singer.detect([{"type": "SCHEMA", "stream": "tickets"}, {"type": "SCHEMA", "stream": "conversations"}]) == "freshdesk"
    assert singer.detect([{"type": "SCHEMA", "stream": "tickets"}, {"type": "RECORD", "stream": "ticket_comments"}]) == "zendesk"

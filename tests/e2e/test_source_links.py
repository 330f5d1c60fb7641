"""Freshdesk's attachment links are pre-signed for minutes (`X-Amz-Expires=300`): an import that
starts later renews them by reading the ticket again from the source's API; with --keep-links
the report lists the links that will die."""

from __future__ import annotations

import orjson
from aiohttp import web

from helpspace_async.testing import ServerThread
from helpspace_async.testing.threaded import HandlerThread
from tests.e2e.cli import run

SIGNED = "{host}/files/{id}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=300&X-Amz-Signature={sig}"


class FreshdeskAPI(HandlerThread):
    """Tickets and conversations whose attachment links carry today's signature; older ones answer 403."""

    async def handle(self, request: web.Request) -> web.Response:
        host = f"http://{request.host}"
        if request.path.startswith("/files/"):
            if request.query.get("X-Amz-Signature") != "fresh":
                return web.Response(status=403, text="<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
            return web.Response(body=f"file {request.path[7:]}".encode(), content_type="application/pdf")
        if request.path == "/api/v2/tickets/601":
            return web.json_response({"id": 601, "attachments": [{"id": 1, "name": "a.pdf", "attachment_url": SIGNED.format(host=host, id=1, sig="fresh")}]})
        if request.path == "/api/v2/tickets/601/conversations":
            return web.json_response([{"id": 9, "attachments": [{"id": 2, "name": "b.pdf",
                                                                 "attachment_url": SIGNED.format(host=host, id=2, sig="fresh")}]}])
        return web.json_response({"code": "not_found"}, status=404)


def ticket(host: str) -> dict:
    return {"id": 601, "subject": "Contract attached", "description": "<div>See attached</div>", "status": 2, "priority": 1,
            "source": 1, "requester": {"name": "Mia", "email": "mia@customer.example"}, "created_at": "2023-05-02T08:00:00Z",
            "attachments": [{"id": 1, "name": "a.pdf", "content_type": "application/pdf",
                             "attachment_url": SIGNED.format(host=host, id=1, sig="yesterday")}],
            "conversations": [{"id": 9, "incoming": True, "private": False, "body": "<div>And the annex</div>",
                               "from_email": "mia@customer.example", "created_at": "2023-05-02T09:00:00Z",
                               "attachments": [{"id": 2, "name": "b.pdf", "content_type": "application/pdf",
                                                "attachment_url": SIGNED.format(host=host, id=2, sig="yesterday")}]}]}


def test_expired_links_are_renewed_from_the_source_api(tmp_path):
    api = FreshdeskAPI()
    with api as host, ServerThread() as server:
        src = tmp_path / "fd.jsonl"
        src.write_bytes(orjson.dumps(ticket(host)) + b"\n")
        done = run(["import", "tickets", str(src), "--source-token", "fd-key", "--source-auth", "basic",
                    "--source-url", host], server)
        assert done.returncode == 0, done.stderr.decode()
        [created] = server.store.live
        files = [server.store.attachment(a["id"])[2] for m in server.store.messages_of(created) for a in m["attachments"]]
    assert files == [b"file 1", b"file 2"]
    assert [s.path for s in api.seen].count("/api/v2/tickets/601") == 1  # the ticket is read again once for both links


def test_without_the_source_api_an_expired_link_is_a_reject_that_says_why(tmp_path):
    api = FreshdeskAPI()
    with api as host:
        src = tmp_path / "fd.jsonl"
        src.write_bytes(orjson.dumps(ticket(host)) + b"\n")
        dry = run(["import", "tickets", str(src), "--dry-run"])
        assert dry.returncode == 1
        [reject] = [orjson.loads(x) for x in (tmp_path / "fd.jsonl.rejects.jsonl").read_bytes().splitlines()]
        assert "HTTP 403" in reject["reason"] and "expired" in reject["reason"] and "yesterday" not in reject["reason"]

        kept = run(["import", "tickets", str(src), "--dry-run", "--keep-links"])
        report = kept.stderr.decode()
        assert kept.returncode == 0, report
        assert f"links that will expire (signed for minutes; drop --keep-links to download them now): 2 ({host}/files/1, " \
               f"{host}/files/2)" in report
        assert "attachments: kept as links 2" in report

"""`helpspace import tickets` end to end against the embedded server over loopback."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
from pathlib import Path

import orjson
import pytest

from helpspace_async.testing import ServerThread
from tests.conftest import SAMPLES
from tests.e2e.cli import run, start, wait_until


def copy_samples(tmp_path: Path) -> Path:
    shutil.copytree(SAMPLES / "import", tmp_path / "in")
    return tmp_path / "in"


def server_tickets(server) -> list[dict]:
    return [server.store.tickets[i] for i in server.store.live]


def record(n: int, **over) -> dict:
    r = {"external_id": f"x-{n}", "subject": f"Subject {n}", "channel": {"id": 1},
         "from_contact": {"email": f"c{n}@example.com"}, "message": {"body": f"<p>body {n}</p>"}}
    r.update(over)
    return r


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


def test_jsonl_sample_with_attachments_and_inline_images(tmp_path):
    folder = copy_samples(tmp_path)
    with ServerThread() as server:
        done = run(["import", "tickets", str(folder / "tickets.jsonl")], server)
        assert done.returncode == 0, done.stderr.decode()
        tickets = {t["subject"]: t for t in server_tickets(server)}
        assert len(tickets) == 3
        refund = tickets["Refund for order 1001"]
        assert refund["status"] == "closed" and refund["created_at"] == "2019-03-04T09:15:00+00:00"
        assert refund["tags"] == ["migrated", "refund"]  # "migrated" did not exist: created first
        message = server.store.messages_of(refund["id"])[0]
        logo = base64.b64encode((folder / "files/logo.png").read_bytes()).decode()
        assert f'src="data:image/png;base64,{logo}"' in message["body"]
        att = message["attachments"][0]
        assert att["name"] == "invoice.txt"
        assert server.store.attachment(att["id"])[2] == (folder / "files/invoice.txt").read_bytes()
        note = server.store.messages_of(tickets['Login fails, "error 500"']["id"])[0]["attachments"][0]
        assert server.store.attachment(note["id"])[2] == b"inline base64 works"
        assert b"created 3" in done.stderr and b"tags created: migrated" in done.stderr


def test_csv_sample(tmp_path):
    folder = copy_samples(tmp_path)
    with ServerThread() as server:
        done = run(["import", "tickets", str(folder / "tickets.csv")], server)
        assert done.returncode == 0, done.stderr.decode()
        tickets = {t["subject"]: t for t in server_tickets(server)}
        fire = tickets["Printer on fire, again"]
        assert fire["tags"] == ["hardware", "urgent"] and fire["from_contact"]["name"] == "Mary O'Brien"
        assert fire["created_at"] == "2021-06-01T09:30:00+00:00"
        assert server.store.messages_of(fire["id"])[0]["body"] == "<p>It's on fire.\nAgain.</p>"
        assert tickets['Ünïcode, commas "and" quotes']["status"] == "escaleted"


def test_bad_records_are_rejected_with_line_numbers_and_the_rest_goes_in(tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "ok.txt").write_bytes(b"fine")
    outside = tmp_path.parent / f"{tmp_path.name}-secret.txt"
    outside.write_text("secret")
    os.symlink(outside, tmp_path / "files" / "link.txt")
    big = base64.b64encode(b"x" * (5 * 1024 * 1024 + 10)).decode()
    lines = [
        record(1),                                                              # 1 ok
        '{"subject": "truncated',                                               # 2 malformed JSON
        record(3, subject=""),                                                  # 3 missing subject
        record(4, message={"body": "x", "attachments": [{"path": "files/missing.txt"}]}),    # 4 unreadable
        record(5, message={"body": "x", "attachments": [{"path": "../secret.txt"}]}),        # 5 escapes
        record(6, message={"body": "x", "attachments": [{"path": str(outside)}]}),           # 6 absolute
        record(7, message={"body": "x", "attachments": [{"path": "files/link.txt"}]}),       # 7 symlink out
        record(8, message={"body": "x", "attachments": [{"name": "big", "data": big}]}),     # 8 over 5 MB
        record(9, message={"body": "y" * (5 * 1024 * 1024 + 1)}),                          # 9 body over 5 MB
        record(10, assignee={"id": 99}),                                        # 10 the server says 422
        "\x00\x01 binary garbage",                                              # 11
        record(12, message={"body": "ok", "attachments": [{"path": "files/ok.txt"}]}),       # 12 ok
    ]
    src = write_jsonl(tmp_path / "in.jsonl", lines)
    with open(src, "ab") as fh:
        fh.write(b'{"subject": "\xff\xfe not utf-8"}\n')                       # 13 wrong encoding
    with ServerThread() as server:
        done = run(["import", "tickets", str(src)], server)
        assert done.returncode == 1, done.stderr.decode()
        assert sorted(t["subject"] for t in server_tickets(server)) == ["Subject 1", "Subject 12"]
        rejects = [orjson.loads(x) for x in (tmp_path / "in.jsonl.rejects.jsonl").read_bytes().splitlines()]
        by_line = {r["line"]: r for r in rejects}
        assert sorted(by_line) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13]
        assert "not valid JSON" in by_line[2]["reason"] and by_line[3]["field_errors"] == {"subject": ["required"]}
        assert "not found" in by_line[4]["reason"] and "outside" in by_line[5]["reason"]
        assert "relative" in by_line[6]["reason"] and "outside" in by_line[7]["reason"]
        assert "5 MB" in by_line[8]["reason"] and "5 MB" in by_line[9]["reason"]
        assert by_line[10]["field_errors"] == {"assignee.id": ["The selected assignee.id is invalid."]}
        assert by_line[10]["key"] == "ext:x-10" and by_line[10]["record"]["subject"] == "Subject 10"
        assert server.realism.stats["requests"] == 3  # creates for 1, 10 (refused) and 12: nothing else was sent


def test_dry_run_sends_nothing(tmp_path):
    folder = copy_samples(tmp_path)
    with ServerThread() as server:
        done = run(["import", "tickets", str(folder / "tickets.jsonl"), "--dry-run"], server)
        assert done.returncode == 0, done.stderr.decode()
        assert b"3 requests would be sent" in done.stderr
        assert server.realism.stats["requests"] == 0 and not (folder / "tickets.jsonl.state.jsonl").exists()


def test_no_create_tags_reports_what_will_be_dropped(tmp_path):
    folder = copy_samples(tmp_path)
    with ServerThread() as server:
        done = run(["import", "tickets", str(folder / "tickets.jsonl"), "--no-create-tags"], server)
        assert done.returncode == 0
        assert b"will drop" in done.stderr and b"migrated" in done.stderr and "migrated" not in server.store.tags


def test_exactly_once_with_drops_after_create_and_faults(tmp_path):
    src = write_jsonl(tmp_path / "many.jsonl", [record(n) for n in range(300)])
    with ServerThread(drop_after_create=0.2, fault_rate=0.05, seed=3) as server:
        first = run(["import", "tickets", str(src), "--concurrency", "8"], server)
        assert first.returncode == 0, first.stderr.decode()
        assert server.realism.stats["drops_after_create"] > 20
        subjects = [t["subject"] for t in server_tickets(server)]
        assert sorted(subjects) == sorted(f"Subject {n}" for n in range(300)), "duplicates or losses"
        assert b"ambiguous resolved" in first.stderr
        again = run(["import", "tickets", str(src)], server)
        assert again.returncode == 0 and b"created 0" in again.stderr and b"already done 300" in again.stderr
        assert len(server.store.live) == 300


def test_identical_records_become_two_tickets_even_when_answers_are_lost(tmp_path):
    twin = {k: v for k, v in record(1).items() if k != "external_id"}
    src = write_jsonl(tmp_path / "twins.jsonl", [dict(twin, created_at="2020-01-01T00:00:00Z"),
                                                 dict(twin, created_at="2020-01-01T00:00:00Z", tags=["vip"])])
    with ServerThread(drop_after_create=1.0) as server:
        done = run(["import", "tickets", str(src)], server)
        assert done.returncode == 0, done.stderr.decode()
        assert len(server.store.live) == 2
    journal = [orjson.loads(line) for line in (tmp_path / "twins.jsonl.state.jsonl").read_bytes().splitlines()]
    ids = [e["id"] for e in journal if "id" in e]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 2  # each record claimed a ticket of its own


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_kill_and_rerun_creates_only_what_is_missing(tmp_path, sig):
    src = write_jsonl(tmp_path / "k.jsonl", [record(n) for n in range(150)])
    with ServerThread(latency_ms=20) as server:
        proc = start(["import", "tickets", str(src), "--concurrency", "2"], server)
        wait_until(lambda: len(server.store.live) >= 10, what="created tickets")
        proc.send_signal(sig)
        proc.wait(timeout=30)
        if sig == signal.SIGINT:
            assert proc.returncode == 130
        partial = len(server.store.live)
        assert 0 < partial < 150
        done = run(["import", "tickets", str(src), "--concurrency", "8"], server)
        assert done.returncode == 0, done.stderr.decode()
        assert sorted(t["subject"] for t in server_tickets(server)) == sorted(f"Subject {n}" for n in range(150))


def test_round_trip_through_the_demo_command(tmp_path):
    done = run(["demo", "--dir", str(tmp_path / "d"), "--tickets", "120"], None)
    assert done.returncode == 0, done.stderr.decode()
    assert b"all equal" in done.stderr and (tmp_path / "d" / "tickets.jsonl.gz").exists()
    assert b"organizations and customers all equal" in done.stderr  # step 4: backup and restore of the account


def test_missing_input_is_a_usage_error(tmp_path):
    with ServerThread() as server:
        assert run(["import", "tickets", str(tmp_path / "nope.jsonl")], server).returncode == 2


def test_attachments_over_5_mb_together_are_split_across_follow_ups(tmp_path):
    three_mb = base64.b64encode(b"a" * (3 * 1024 * 1024)).decode()
    other = base64.b64encode(b"b" * (3 * 1024 * 1024)).decode()
    src = write_jsonl(tmp_path / "split.jsonl", [record(1, message={"body": "<p>two big files</p>", "attachments": [
        {"name": "a.bin", "data": three_mb}, {"name": "b.bin", "data": other}]})])
    with ServerThread() as server:
        done = run(["import", "tickets", str(src)], server)
        assert done.returncode == 0, done.stderr.decode()
        (ticket_id,) = server.store.live
        first, second = server.store.messages_of(ticket_id)
        assert [a["name"] for a in first["attachments"]] == ["a.bin"] and [a["name"] for a in second["attachments"]] == ["b.bin"]
        assert "attachments continued, 2 of 2" in second["body"]
        assert server.store.attachment(second["attachments"][0]["id"])[2] == b"b" * (3 * 1024 * 1024)
        again = run(["import", "tickets", str(src)], server)
        assert b"already done 1" in again.stderr and len(server.store.messages_of(ticket_id)) == 2

"""`helpspace export tickets` end to end against the embedded server over loopback."""

from __future__ import annotations

import base64
import csv
import gzip
import io
import json
import signal
from pathlib import Path

import orjson
import pytest

from helpspace_async.testing import ServerThread
from tests.conftest import SECRET, assert_only_probes
from tests.e2e.cli import run, start, wait_until


def newest_first(server) -> list[dict]:
    return [server.store.tickets[i] for i in reversed(server.store.live)]


def ids_in(path: Path) -> list[int]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        return [orjson.loads(line)["id"] for line in fh]


@pytest.fixture(scope="module")
def seeded():
    with ServerThread(tickets=1200, seed=3) as server:
        yield server


def test_jsonl_is_the_apis_objects_byte_for_byte(seeded, tmp_path):
    out = tmp_path / "t.jsonl"
    done = run(["export", "tickets", "-o", str(out)], seeded)
    assert done.returncode == 0, done.stderr.decode()
    expected = b"".join(orjson.dumps(t) + b"\n" for t in newest_first(seeded))
    assert out.read_bytes() == expected
    manifest = json.loads((tmp_path / "t.jsonl.manifest.json").read_text())
    assert manifest["tickets"] == 1200 and len(manifest["sha256"]) == 64
    assert b"exported 1,200 tickets" in done.stderr
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob("*.checkpoint.json"))


def test_gzip_holds_the_same_bytes(seeded, tmp_path):
    assert run(["export", "tickets", "-o", str(tmp_path / "t.jsonl")], seeded).returncode == 0
    assert run(["export", "tickets", "-o", str(tmp_path / "t.jsonl.gz")], seeded).returncode == 0
    assert gzip.decompress((tmp_path / "t.jsonl.gz").read_bytes()) == (tmp_path / "t.jsonl").read_bytes()


def test_csv_survives_commas_quotes_newlines_and_unicode(seeded, tmp_path):
    out = tmp_path / "t.csv"
    assert run(["export", "tickets", "-o", str(out)], seeded).returncode == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    tickets = newest_first(seeded)
    assert [int(r["id"]) for r in rows] == [t["id"] for t in tickets]
    for row, ticket in zip(rows, tickets, strict=False):
        subject = ticket["subject"]
        assert row["subject"] == ("'" + subject if subject[0] in "=+-@" else subject)
        assert json.loads(row["tags"]) == ticket["tags"]
        assert row["from_contact.name"] == (ticket["from_contact"]["name"] or "")
        assert row["assignee.email"] == (ticket["assignee"]["email"] if ticket["assignee"] else "")
    subjects = "".join(r["subject"] for r in rows)
    assert all(ch in subjects for ch in ',"\n') and "注文" in subjects
    header = out.read_text(encoding="utf-8").split("\r\n", 1)[0]
    assert header.startswith("id,subject,status,channel.id")


def test_filters_reach_the_server(seeded, tmp_path):
    out = tmp_path / "f.jsonl"
    done = run(["export", "tickets", "-o", str(out), "--status", "open", "--status", "waiting", "--tag", "vip",
                "--created-between", "2020-01-01/2022-12-31"], seeded)
    assert done.returncode == 0, done.stderr.decode()
    expected = [t["id"] for t in newest_first(seeded)
                if t["status"] in ("open", "waiting") and "vip" in t["tags"] and "2020" <= t["created_at"][:4] <= "2022"]
    assert ids_in(out) == expected and expected


def test_messages_and_embedded_attachments(seeded, tmp_path):
    out = tmp_path / "m.jsonl"
    done = run(["export", "tickets", "-o", str(out), "--with-messages", "--attachments", "embed",
                "--created-between", "2019-01-01/2019-12-31"], seeded)
    assert done.returncode == 0, done.stderr.decode()
    checked = 0
    for line in out.read_bytes().splitlines():
        ticket = orjson.loads(line)
        stored = seeded.store.messages_of(ticket["id"])
        assert [m["id"] for m in ticket["messages"]] == [m["id"] for m in stored]  # internal ones too
        for message in ticket["messages"]:
            for att in message["attachments"]:
                assert base64.b64decode(att["data"]) == seeded.store.attachment(att["id"])[2]
                checked += 1
    assert checked > 0


def test_attachments_saved_to_a_folder_with_safe_names(seeded, tmp_path):
    out = tmp_path / "m.jsonl"
    done = run(["export", "tickets", "-o", str(out), "--with-messages", "--attachments", str(tmp_path / "files"),
                "--created-between", "2019-01-01/2019-06-30"], seeded)
    assert done.returncode == 0, done.stderr.decode()
    saved = 0
    for line in out.read_bytes().splitlines():
        for message in orjson.loads(line)["messages"]:
            for att in message["attachments"]:
                path = (tmp_path / att["path"]).resolve()
                assert path.is_relative_to((tmp_path / "files").resolve())  # "../../etc/passwd" can't escape
                assert path.read_bytes() == seeded.store.attachment(att["id"])[2]
                saved += 1
    assert saved > 0


def test_stdout(seeded, tmp_path):
    done = run(["export", "tickets", "-o", "-", "--status", "spam"], seeded)
    assert done.returncode == 0
    assert [orjson.loads(x)["id"] for x in done.stdout.splitlines()] == [
        t["id"] for t in newest_first(seeded) if t["status"] == "spam"]


def test_bad_credentials_exit_3_and_leave_no_file(seeded, tmp_path):
    env_server = type("S", (), {"env": {**seeded.env, "HELPSPACE_TOKEN": SECRET}})()
    done = run(["export", "tickets", "-o", str(tmp_path / "t.jsonl")], env_server)
    assert done.returncode == 3
    assert b"HELPSPACE_TOKEN" in done.stderr and SECRET.encode() not in done.stderr + done.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [["--created-between", "2020-01-01"], ["--per-page", "51"], ["-o", "x.txt"],
                                  ["--attachments", "embed"]])
def test_usage_errors_exit_2_and_write_nothing(seeded, tmp_path, args):
    base = ["export", "tickets", "-o", str(tmp_path / "t.jsonl")]
    done = run(base + args, seeded, cwd=tmp_path)
    assert done.returncode == 2, done.stderr.decode()
    assert list(tmp_path.iterdir()) == []


def test_plain_http_to_a_remote_host_is_refused(tmp_path):
    env_server = type("S", (), {"env": {"HELPSPACE_BASE_URL": "http://helpdesk.example.com", "HELPSPACE_TOKEN": "t", "HELPSPACE_CLIENT_ID": "c"}})()
    done = run(["export", "tickets", "-o", str(tmp_path / "t.jsonl")], env_server)
    assert done.returncode == 2 and b"unencrypted" in done.stderr


def test_complete_under_churn(tmp_path):
    with ServerThread(tickets=1500, seed=8, churn=2) as server:
        out = tmp_path / "c.jsonl"
        done = run(["export", "tickets", "-o", str(out), "--per-page", "20"], server)
        assert done.returncode == 0, done.stderr.decode()
        ids = ids_in(out)
        deleted = set(server.store.deleted_log)
        assert len(deleted) > 50
        assert len(ids) == len(set(ids)), "a ticket was written twice"
        missing = set(range(1, 1501)) - deleted - set(ids)
        assert not missing, f"{len(missing)} tickets that existed all along are missing"


def test_complete_with_faults_and_a_429_storm(tmp_path):
    with ServerThread(tickets=1500, seed=4, fault_rate=0.05, rate_limit=40, rate_window=1) as server:  # ~80 requests
        out = tmp_path / "f.csv"
        done = run(["export", "tickets", "-o", str(out), "--concurrency", "16", "--per-page", "20"], server, timeout=180)
        assert done.returncode == 0, done.stderr.decode()
        rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
        assert sorted(int(r["id"]) for r in rows) == list(range(1, 1501))
        assert server.realism.stats["faults"] > 0
        assert_only_probes(server.realism)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_interrupt_then_resume_gives_the_same_tickets(tmp_path, sig):
    with ServerThread(tickets=2000, seed=6, latency_ms=40) as server:
        out = tmp_path / "r.jsonl.gz"
        args = ["export", "tickets", "-o", str(out), "--concurrency", "1", "--per-page", "20"]
        proc = start(args, server)
        wait_until((tmp_path / "r.jsonl.gz.checkpoint.json").exists, what="checkpoint")
        proc.send_signal(sig)
        proc.wait(timeout=30)
        assert not out.exists(), "an interrupted export must not look whole"
        if sig != signal.SIGKILL:
            assert proc.returncode == 130, proc.stderr.read().decode()
        assert (tmp_path / "r.jsonl.gz.part").exists()
        mismatch = run(args + ["--resume", "--status", "open"], server)
        assert mismatch.returncode == 2 and b"other options" in mismatch.stderr
        done = run(args + ["--resume", "--concurrency", "4"], server)
        assert done.returncode == 0, done.stderr.decode()
        ids = ids_in(out)
        assert len(ids) == len(set(ids)) and set(ids) == set(range(1, 2001))


def test_csv_cells_that_a_spreadsheet_would_run_are_guarded_unless_asked(tmp_path):
    subjects = ["=HYPERLINK(\"http://x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "plain"]
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(orjson.dumps({"subject": s, "channel": {"id": 1}, "from_contact": {"email": "a@b.example"},
                                           "message": {"body": "<p>x</p>"}}) + b"\n" for s in subjects))
    with ServerThread(tickets=0) as server:
        assert run(["import", "tickets", str(src)], server).returncode == 0
        guarded, raw = tmp_path / "g.csv", tmp_path / "r.csv"
        assert run(["export", "tickets", "-o", str(guarded)], server).returncode == 0
        assert run(["export", "tickets", "-o", str(raw), "--no-formula-guard"], server).returncode == 0

    def subjects_in(path):
        return sorted(r["subject"] for r in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))

    assert subjects_in(guarded) == sorted("'" + s if s[0] in "=+-@" else s for s in subjects)
    assert subjects_in(raw) == sorted(subjects)

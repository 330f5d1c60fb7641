"""Whatever a server sends: the token stays home, files stay in their folder, runs end,
memory stays flat. Each test switches on one hostile mode of the embedded server
(helpspace_async/testing/hostile.py) and checks the outcome a user would see."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from aiohttp import web

from helpspace_async.testing import Hostility, ServerThread
from helpspace_async.testing.threaded import HandlerThread
from tests.conftest import SECRET
from tests.e2e.cli import cli_env, run

CLIENT_ID = "client-SECRET-42"
PEAK = "PEAK_KB"
MEASURED = (
    "import sys\nfrom pipelines.cli import main\ntry:\n    code = main(sys.argv[1:])\nfinally:\n"
    "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
    f"    sys.stderr.write('\\n{PEAK} ' + hwm + '\\n')\nsys.exit(code)\n"
)


def run_measured(args: list[str], server) -> tuple[subprocess.CompletedProcess, float]:
    """Run the CLI and read its own peak RSS (VmHWM) in MB."""
    done = subprocess.run([sys.executable, "-c", MEASURED, *args], env=cli_env(server), capture_output=True, timeout=120)
    peak = [line for line in done.stderr.decode().splitlines() if line.startswith(PEAK)]
    return done, int(peak[-1].split()[1]) / 1024


class Recorder(HandlerThread):
    """Another origin: serves a few bytes (and, as every HandlerThread, keeps what it was sent)."""

    async def handle(self, request: web.Request) -> web.Response:
        body = b"foreign bytes " + request.path.encode()
        size = request.query.get("size", "")
        if size.isdigit():  # the size the API announced for it: a real CDN serves the whole file
            body = (body + b"." * int(size))[: int(size)]
        return web.Response(body=body, content_type="application/octet-stream")


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def assert_no_secret_anywhere(tmp_path: Path, *outputs: subprocess.CompletedProcess) -> None:
    for blob in [o.stdout + o.stderr for o in outputs] + [p.read_bytes() for p in files_under(tmp_path)]:
        assert SECRET.encode() not in blob and CLIENT_ID.encode() not in blob


# --- credentials by origin -----------------------------------------------------------------


def test_attachments_on_another_origin_are_fetched_without_credentials(tmp_path):
    cdn = Recorder()
    with cdn as cdn_url, ServerThread(tickets=40, seed=2, token=SECRET, client_id=CLIENT_ID,
                                      hostile=Hostility(foreign_media=cdn_url)) as server:
        done = run(["export", "tickets", "-o", str(tmp_path / "t.jsonl"), "--with-messages",
                    "--attachments", str(tmp_path / "files")], server)
    assert done.returncode == 0, done.stderr.decode()
    assert cdn.seen, "the attachments were fetched from the other origin"
    for headers in (s.headers for s in cdn.seen):
        assert "Authorization" not in headers and "Hs-Client-Id" not in headers
    assert all(p.read_bytes().startswith(b"foreign bytes") for p in files_under(tmp_path / "files"))


def test_a_listing_redirected_to_another_origin_is_refused_before_anything_is_sent_there(tmp_path):
    elsewhere = Recorder()
    with elsewhere as elsewhere_url, ServerThread(tickets=40, token=SECRET, client_id=CLIENT_ID,
                                                  hostile=Hostility(redirect_to=elsewhere_url)) as server:
        done = run(["export", "tickets", "-o", str(tmp_path / "t.jsonl")], server)
    assert done.returncode == 3 and b"redirected to another origin" in done.stderr
    assert elsewhere.seen == []  # not even a request without credentials
    assert not (tmp_path / "t.jsonl").exists()


def test_the_source_token_goes_only_to_the_source_helpdesk(tmp_path):
    source, images = Recorder(), Recorder()
    with source as source_url, images as images_url, ServerThread() as server:
        ticket = {"id": 7, "subject": "Mixed hosts", "status": "open", "requester": {"email": "c@customer.example"},
                  "via": {"channel": "email"},
                  "comments": [{"id": 1, "public": True, "created_at": "2024-01-01T00:00:00Z",
                                "html_body": f'<p>see <img src="{images_url}/pic.png"></p>',
                                "attachments": [{"file_name": "a.pdf", "content_url": f"{source_url}/attachments/a.pdf"}]}]}
        src = tmp_path / "zendesk.jsonl"
        src.write_bytes(orjson.dumps(ticket) + b"\n")
        done = run(["import", "tickets", str(src), "--from", "zendesk", "--source-token", SECRET,
                    "--source-url", source_url], server)
    assert done.returncode == 0, done.stderr.decode()
    assert [s.headers.get("Authorization") for s in source.seen] == [f"Bearer {SECRET}"]
    assert len(images.seen) == 1 and "Authorization" not in images.seen[0].headers
    assert SECRET.encode() not in done.stdout + done.stderr


# --- redaction ---------------------------------------------------------------------------------


def test_errors_that_echo_the_credentials_are_printed_and_stored_without_them(tmp_path):
    hostile = Hostility(echo_secrets=True)
    with ServerThread(tickets=20, token=SECRET, client_id=CLIENT_ID, hostile=hostile) as server:
        wrong = run(["export", "tickets", "-o", str(tmp_path / "t.jsonl")], server,
                    env=cli_env(server, HELPSPACE_TOKEN=SECRET + "x"))  # 401, echoed
        src = tmp_path / "in.jsonl"
        src.write_bytes(orjson.dumps({"external_id": "e1", "subject": "S", "channel": {"id": 1}, "from_contact":
                                      {"email": "a@b.example"}, "message": {"body": "<p>x</p>"},
                                      "assignee": {"id": 99}}) + b"\n")
        refused = run(["import", "tickets", str(src)], server)  # 422, echoed into the rejects file
    with ServerThread(tickets=20, token=SECRET, client_id=CLIENT_ID, hostile=hostile, fault_rate=1.0) as server:
        failing = run(["export", "tickets", "-o", str(tmp_path / "u.jsonl"), "--retries", "2"], server)  # 5xx, echoed
    assert wrong.returncode == 3 and b"***" in wrong.stderr
    assert refused.returncode == 1 and b"***" in (tmp_path / "in.jsonl.rejects.jsonl").read_bytes()
    assert failing.returncode == 3
    assert_no_secret_anywhere(tmp_path, wrong, refused, failing)


# --- files stay in their folder -----------------------------------------------------------------


def test_evil_ids_and_names_never_write_outside_the_folder(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    before = set(tmp_path.parent.iterdir())
    with ServerThread(tickets=60, seed=5, hostile=Hostility(evil_ids=True)) as server:
        done = run(["export", "tickets", "-o", str(work / "t.jsonl"), "--with-messages",
                    "--attachments", str(work / "files")], server)
    assert done.returncode == 3, done.stderr.decode()
    assert b"incomplete" in done.stderr and b"not a number" in done.stderr
    assert set(tmp_path.parent.iterdir()) == before  # nothing appeared next to the test's folder
    assert {p.name for p in tmp_path.iterdir()} == {"work"}
    saved = files_under(work / "files")
    assert saved and all(len(p.name.encode()) <= 255 for p in saved)
    assert all(p.resolve().is_relative_to((work / "files").resolve()) for p in saved)
    exported = [orjson.loads(x) for x in (work / "t.jsonl").read_bytes().splitlines()]
    assert all(type(t["id"]) is int for t in exported) and 1 not in {t["id"] for t in exported}
    manifest = orjson.loads((work / "t.jsonl.manifest.json").read_bytes())
    assert manifest["complete"] is False and any("evil-1" in p for p in manifest["problems"])


# --- runs end ----------------------------------------------------------------------------


def test_a_last_page_of_a_billion_is_not_believed(tmp_path):
    with ServerThread(tickets=300, hostile=Hostility(endless_pages=True)) as server:
        done = run(["export", "tickets", "-o", str(tmp_path / "t.jsonl"), "--per-page", "20"], server, timeout=60)
        served = server.realism.stats["requests"]
    assert done.returncode == 0, done.stderr.decode()
    ids = [orjson.loads(x)["id"] for x in (tmp_path / "t.jsonl").read_bytes().splitlines()]
    assert sorted(ids) == list(range(1, 301))
    assert served <= 2 * (300 // 20) + 20  # two segments' worth of pages and a few more, not a billion


def test_the_same_page_forever_ends_the_run_with_exit_3(tmp_path):
    started = time.monotonic()
    with ServerThread(tickets=300, hostile=Hostility(same_page_forever=True)) as server:
        done = run(["export", "tickets", "-o", str(tmp_path / "t.jsonl"), "--per-page", "20"], server, timeout=60)
        served = server.realism.stats["requests"]
    assert done.returncode == 3 and b"no item it had not sent before" in done.stderr, done.stderr.decode()
    assert served < 100 and time.monotonic() - started < 30


# --- memory stays flat -------------------------------------------------------------------------


def test_a_gzip_bomb_is_stopped_while_it_is_read(tmp_path):
    with ServerThread(tickets=20, hostile=Hostility(gzip_bomb_mb=1024)) as server:
        done, peak_mb = run_measured(["export", "tickets", "-o", str(tmp_path / "t.jsonl")], server)
    assert done.returncode == 3 and b"over 64 MB" in done.stderr, done.stderr.decode()
    assert peak_mb < 400


def test_a_huge_attachment_is_not_embedded_and_the_message_says_what_to_do(tmp_path):
    with ServerThread(tickets=40, seed=2, hostile=Hostility(huge_attachment_mb=300)) as server:
        done, peak_mb = run_measured(["export", "tickets", "-o", str(tmp_path / "t.jsonl"), "--with-messages",
                                      "--attachments", "embed"], server)
    assert done.returncode == 3 and b"--attachments DIR" in done.stderr, done.stderr.decode()
    assert peak_mb < 400


def test_big_attachments_are_streamed_to_disk(tmp_path):
    with ServerThread(tickets=12, seed=2, hostile=Hostility(huge_attachment_mb=48)) as server:
        done, peak_mb = run_measured(["export", "tickets", "-o", str(tmp_path / "t.jsonl"), "--with-messages",
                                      "--attachments", str(tmp_path / "files")], server)
    assert done.returncode == 0, done.stderr.decode()
    saved = files_under(tmp_path / "files")
    assert saved and all(p.stat().st_size == 48 << 20 for p in saved)
    assert peak_mb < 250, f"{len(saved)} files of 48 MB went through {peak_mb:.0f} MB"
    for p in saved:
        os.remove(p)


# --- creates answered without proof ------------------------------------------------------------


def records(path: Path, n: int) -> Path:
    path.write_bytes(b"".join(orjson.dumps({"external_id": f"r{i}", "subject": f"R {i}", "channel": {"id": 1},
                                            "from_contact": {"email": f"c{i}@example.com"},
                                            "message": {"body": f"<p>{i}</p>"}}) + b"\n" for i in range(n)))
    return path


def test_a_create_answered_without_an_id_is_looked_up_not_rejected(tmp_path):
    for answer in ("no-id", "not-json"):
        src = records(tmp_path / f"{answer}.jsonl", 15)
        with ServerThread(hostile=Hostility(create_answer=answer)) as server:
            done = run(["import", "tickets", str(src)], server)
            again = run(["import", "tickets", str(src)], server)
            live = len(server.store.live)
        assert done.returncode == 0, done.stderr.decode()
        assert b"ambiguous resolved 15" in done.stderr and b"rejected 0" in done.stderr
        assert not (tmp_path / f"{answer}.jsonl.rejects.jsonl").exists()
        assert again.returncode == 0 and b"created 0" in again.stderr and live == 15


@pytest.mark.parametrize("fmt", [["--format", "parquet", "--partition-by", "status"],
                                 ["--format", "parquet", "--partition-by", "created_date"],
                                 ["--format", "jsonl"], ["--format", "csv"]])
def test_items_of_the_wrong_shape_are_left_out_and_listed_never_written_outside(tmp_path, fmt):
    pytest.importorskip("pyarrow")
    out = tmp_path / "deep" / "out"
    with ServerThread(tickets=30, seed=5, hostile=Hostility(bad_shapes=True)) as server:
        done = run(["export", "tickets", "-o", str(out), *fmt], server)
    assert done.returncode == 3, done.stderr.decode()
    assert b"Traceback" not in done.stderr and b"left out" in done.stderr
    inside = {p for p in tmp_path.rglob("*") if p.is_file()}
    assert all(out in p.parents or p.name.startswith("out") for p in inside), inside
    manifest = orjson.loads((tmp_path / "deep" / "out.manifest.json").read_bytes())
    assert len(manifest["problems"]) >= 4


def test_pages_that_cycle_end_the_run_with_exit_3(tmp_path):
    """Pages 1, 2, 1, 2, ... each unlike its neighbour: no new ids after two pages, so it stops."""
    with ServerThread(tickets=300, hostile=Hostility(alternating_pages=True)) as server:
        done = run(["export", "tickets", "-o", str(tmp_path / "t.jsonl"), "--per-page", "10"], server, timeout=60)
        requests = server.realism.stats["requests"]
    assert done.returncode == 3, done.stderr.decode()
    assert requests < 60 and b"Traceback" not in done.stderr


@pytest.mark.parametrize("answer", ["html", "json", "partial", "empty", "short"])
@pytest.mark.parametrize("where", ["embed", "DIR"])
def test_a_page_or_a_cut_body_is_never_kept_as_the_attachment(tmp_path, answer, where):
    """A backup silently full of login pages is the worst kind of backup: each such download is
    retried, then listed, the run ends with exit 3, and nothing of it is kept as the file."""
    out = tmp_path / "t.jsonl"
    folder = tmp_path / "files"
    with ServerThread(tickets=6, seed=2, hostile=Hostility(media_answer=answer)) as server:
        done = run(["export", "tickets", "-o", str(out), "--with-messages", "--attachments",
                    "embed" if where == "embed" else str(folder), "--retries", "2"], server)
    assert done.returncode == 3, done.stderr.decode()
    assert b"not saved" in done.stderr and b"Traceback" not in done.stderr
    attachments = [a for line in out.read_bytes().splitlines() for m in orjson.loads(line)["messages"]
                   for a in m.get("attachments") or []]
    assert attachments and all("skipped" in a and "data" not in a and "path" not in a for a in attachments)
    assert not folder.exists() or not [p for p in folder.rglob("*") if p.is_file()]
    manifest = orjson.loads((tmp_path / "t.jsonl.manifest.json").read_bytes())
    assert manifest["attachments_verified"] == 0 and len(manifest["problems"]) == len(attachments)


def test_attachments_that_match_what_was_announced_are_counted_as_verified(tmp_path):
    out = tmp_path / "t.jsonl"
    with ServerThread(tickets=6, seed=2) as server:
        done = run(["export", "tickets", "-o", str(out), "--with-messages", "--attachments", "embed"], server)
    assert done.returncode == 0, done.stderr.decode()
    embedded = [a for line in out.read_bytes().splitlines() for m in orjson.loads(line)["messages"]
                for a in m.get("attachments") or [] if "data" in a]
    manifest = orjson.loads((tmp_path / "t.jsonl.manifest.json").read_bytes())
    assert embedded and manifest["attachments_verified"] == len(embedded)

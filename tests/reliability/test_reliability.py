"""Hostile servers, hostile input, interruptions, secrets: nothing lost, nothing twice.

Every scenario runs the real `helpspace` command against the embedded server over
loopback, bounded in time. docs/RELIABILITY.md summarises what these prove.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import orjson
import pytest

from helpspace_async import ConfigurationError, HelpSpaceClient
from helpspace_async.testing import HelpSpaceServer, ServerThread
from tests.conftest import SECRET
from tests.e2e.cli import run, served, start, wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ids_in(path: Path) -> list[int]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        return [orjson.loads(line)["id"] for line in fh]


def records(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps({"external_id": f"r{i}", "subject": f"R {i}", "channel": {"id": 1},
                                        "from_contact": {"email": f"r{i}@example.com"},
                                        "message": {"body": f"<p>{i}</p>"}}) + "\n" for i in range(n)))
    return path


def live_subjects(db: Path) -> list[str]:
    import asyncio

    async def read() -> list[str]:
        async with HelpSpaceServer(db=str(db)) as server:
            return sorted(server.store.tickets[i]["subject"] for i in server.store.live)

    return asyncio.run(read())


# --- the server misbehaves ------------------------------------------------------------


def test_export_rides_out_a_server_that_stops_and_comes_back(tmp_path):
    port, options = free_port(), {"tickets": 1500, "seed": 5, "latency_ms": 30}
    out = tmp_path / "t.jsonl"
    first = ServerThread(port=port, **options)
    server = first.__enter__()
    proc = start(["export", "tickets", "-o", str(out), "--concurrency", "1", "--per-page", "20"], server)
    wait_until(served(server, 10))
    first.__exit__(None, None, None)
    time.sleep(1.5)
    with ServerThread(port=port, **options):
        proc.wait(timeout=120)
    assert proc.returncode == 0, proc.stderr.read().decode()
    assert sorted(ids_in(out)) == list(range(1, 1501))


def test_import_rides_out_a_server_that_stops_and_comes_back(tmp_path):
    port, db = free_port(), tmp_path / "hs.sqlite"
    src = records(tmp_path / "in.jsonl", 120)
    first = ServerThread(port=port, db=str(db), latency_ms=20)
    server = first.__enter__()
    proc = start(["import", "tickets", str(src), "--concurrency", "2"], server)
    wait_until(served(server, 10))
    first.__exit__(None, None, None)
    time.sleep(1.5)
    with ServerThread(port=port, db=str(db)):
        proc.wait(timeout=120)
    assert proc.returncode == 0, proc.stderr.read().decode()
    assert live_subjects(db) == sorted(f"R {i}" for i in range(120))


def test_when_retries_run_out_exit_3_then_resume_finishes(tmp_path):
    port, options = free_port(), {"tickets": 1500, "seed": 6, "latency_ms": 30}
    out = tmp_path / "t.csv"
    args = ["export", "tickets", "-o", str(out), "--concurrency", "1", "--per-page", "20", "--retries", "2"]
    first = ServerThread(port=port, **options)
    server = first.__enter__()
    proc = start(args, server)
    wait_until(served(server, 10))
    first.__exit__(None, None, None)
    proc.wait(timeout=60)
    stderr = proc.stderr.read().decode()
    assert proc.returncode == 3, stderr
    assert "--resume" in stderr and "cannot connect" in stderr
    assert not out.exists() and (tmp_path / "t.csv.part").exists()
    with ServerThread(port=port, **options) as again:
        done = run(args + ["--resume"], again)
    assert done.returncode == 0, done.stderr.decode()
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert sorted(int(r["id"]) for r in rows) == list(range(1, 1501))


def test_answers_slower_than_the_timeout_end_in_exit_3_not_a_hang(tmp_path):
    with ServerThread(tickets=10, latency_ms=3000) as server:
        started = time.monotonic()
        done = run(["export", "tickets", "-o", str(tmp_path / "t.jsonl"), "--timeout", "0.3", "--retries", "2"], server)
    assert done.returncode == 3 and b"timed out" in done.stderr
    assert time.monotonic() - started < 20
    assert not (tmp_path / "t.jsonl").exists()


def test_a_retry_after_of_an_hour_is_said_not_waited_silently(tmp_path):
    with ServerThread(tickets=200, rate_limit=2, rate_window=3600) as server:
        started = time.monotonic()
        done = run(["export", "tickets", "-o", str(tmp_path / "t.jsonl"), "--per-page", "10"], server)
    assert done.returncode == 3, done.stderr.decode()
    assert b"asks us to wait" in done.stderr and b"--max-wait" in done.stderr
    assert time.monotonic() - started < 20


def test_latency_spikes_and_bad_pages_lose_nothing(tmp_path):
    with ServerThread(tickets=1500, seed=9, spike_rate=0.1, spike_ms=300, fault_rate=0.08, bad_page_every=9) as server:
        out = tmp_path / "t.jsonl.gz"
        done = run(["export", "tickets", "-o", str(out), "--per-page", "20"], server)
        assert done.returncode == 0, done.stderr.decode()
        assert server.realism.stats["html_200"] >= 8  # every 9th GET was a proxy's HTML page, and was read again
    assert sorted(ids_in(out)) == list(range(1, 1501))


# --- interruptions at random moments ----------------------------------------------------


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_export_interrupted_at_a_random_moment(tmp_path, seed):
    rnd = random.Random(seed)
    with ServerThread(tickets=1200, seed=seed, latency_ms=25) as server:
        out = tmp_path / "t.jsonl"
        args = ["export", "tickets", "-o", str(out), "--concurrency", "2", "--per-page", "20", "--with-messages"]
        proc = start(args, server)
        wait_until(served(server, rnd.randint(3, 120)))  # a random point in the run, by progress
        proc.send_signal(rnd.choice([signal.SIGINT, signal.SIGTERM]))
        proc.wait(timeout=60)
        if proc.returncode == 0:  # it finished first: then it must be whole
            assert sorted(ids_in(out)) == list(range(1, 1201))
            return
        assert proc.returncode == 130 and not out.exists()
        checkpoint = json.loads((tmp_path / "t.jsonl.checkpoint.json").read_text())
        assert checkpoint["offset"] <= (tmp_path / "t.jsonl.part").stat().st_size
        done = run(args + ["--resume"], server)
        assert done.returncode == 0, done.stderr.decode()
        ids = ids_in(out)
        assert len(ids) == len(set(ids)) and set(ids) == set(range(1, 1201))
        assert all("messages" in orjson.loads(line) for line in out.read_bytes().splitlines())


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_import_interrupted_at_a_random_moment(tmp_path, seed):
    rnd = random.Random(seed)
    src = records(tmp_path / "in.jsonl", 100)
    with ServerThread(latency_ms=25, drop_after_create=0.1, seed=seed) as server:
        proc = start(["import", "tickets", str(src), "--concurrency", "2"], server)
        wait_until(served(server, rnd.randint(3, 90)))  # a random point in the run, by progress
        proc.send_signal(rnd.choice([signal.SIGINT, signal.SIGTERM]))
        proc.wait(timeout=60)
        assert proc.returncode in (0, 130)
        done = run(["import", "tickets", str(src)], server)
        assert done.returncode == 0, done.stderr.decode()
        subjects = sorted(server.store.tickets[i]["subject"] for i in server.store.live)
    assert subjects == sorted(f"R {i}" for i in range(100))


# --- bad input ----------------------------------------------------------------------------


def test_csv_with_missing_and_extra_cells_and_huge_fields(tmp_path):
    src = tmp_path / "in.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["subject", "channel.id", "from_contact.email", "message.body"])
        w.writerow(["ok one", "1", "a@example.com", "<p>fine</p>"])
        w.writerow(["short row", "1"])
        w.writerow(["long row", "1", "b@example.com", "<p>x</p>", "surplus", "cells"])
        w.writerow(["S" * 1000, "1", "c@example.com", "<p>huge subject</p>"])
        w.writerow(["big body", "1", "d@example.com", "<p>" + "x" * 2_000_000 + "</p>"])
        w.writerow(["ok two", "1", "e@example.com", "<p>fine\nacross lines</p>"])
    with ServerThread() as server:
        done = run(["import", "tickets", str(src)], server)
        assert done.returncode == 1, done.stderr.decode()
        subjects = sorted(server.store.tickets[i]["subject"] for i in server.store.live)
    assert subjects == ["big body", "ok one", "ok two"]
    rejects = {r["line"]: r for r in map(orjson.loads, (tmp_path / "in.csv.rejects.jsonl").read_bytes().splitlines())}
    assert sorted(rejects) == [3, 4, 5]
    assert "from_contact.email" in rejects[3]["field_errors"] and "more cells" in rejects[4]["reason"]
    assert "subject" in rejects[5]["field_errors"]


# --- secrets ------------------------------------------------------------------------------


def test_the_token_appears_in_no_output_file_or_stream(tmp_path):
    src = records(tmp_path / "in.jsonl", 30)
    with open(src, "a") as fh:
        fh.write('{"subject": "broken"\n')
    with ServerThread(tickets=300, token=SECRET, fault_rate=0.1, seed=2) as server:
        outputs = [
            run(["export", "tickets", "-o", str(tmp_path / "t.csv"), "-v"], server),
            run(["export", "tickets", "-o", str(tmp_path / "m.jsonl"), "--with-messages", "--attachments", str(tmp_path / "f"), "-v"], server),
            run(["import", "tickets", str(src), "-v"], server),
        ]
        before = server.realism.stats["requests"]
        proc = start(["export", "tickets", "-o", str(tmp_path / "c.jsonl"), "--per-page", "5", "-v"], server)
        wait_until(served(server, before + 5))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    texts = [o.stdout + o.stderr for o in outputs] + [out + err]
    assert any(b"retrying" in t for t in texts)  # the verbose logs did speak
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.stat().st_size < 50_000_000]
    assert any(p.name.endswith((".state.jsonl", ".manifest.json", ".rejects.jsonl")) for p in files)
    for blob in texts + [p.read_bytes() for p in files]:
        assert SECRET.encode() not in blob


def test_tls_verification_stays_on(tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    import asyncio

    from aiohttp import web

    async def scenario() -> None:
        async def tickets(request: web.Request) -> web.Response:
            return web.json_response({"data": []})

        app = web.Application()
        app.router.add_get("/api/v1/tickets", tickets)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            async with HelpSpaceClient(f"https://127.0.0.1:{port}", "t", "c") as hs:
                with pytest.raises(ConfigurationError, match="TLS verification failed"):
                    await hs.tickets.page(1)
        finally:
            await runner.cleanup()

    asyncio.run(scenario())

"""Exports to an S3-compatible server started by the test (moto's standalone server on 127.0.0.1):
complete at the key, or absent; never a local folder named after the URL."""

from __future__ import annotations

import gzip
import os
import re
import signal
from pathlib import Path

import orjson
import pytest

moto_server = pytest.importorskip("moto.server")
s3fs = pytest.importorskip("s3fs")
boto3 = pytest.importorskip("boto3")

from helpspace_async.testing import ServerThread  # noqa: E402
from pipelines.storage import upload_file  # noqa: E402
from tests.e2e.cli import cli_env, run, wait_until  # noqa: E402


@pytest.fixture
def s3(monkeypatch, request):
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    settings = {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3")
    bucket = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:50].strip("-")  # moto's backend is per process
    client.create_bucket(Bucket=bucket)
    yield client, settings, bucket
    server.stop()


def keys(client, bucket) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))


def pending_uploads(client, bucket) -> list:
    return client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def test_an_export_lands_whole_at_the_key_with_its_manifest(s3, tmp_path):
    client, settings, BUCKET = s3
    with ServerThread(tickets=300, seed=2) as server:
        env = cli_env(server, **settings)
        done = run(["export", "tickets", "-o", f"s3://{BUCKET}/nightly/t.jsonl.gz"], server, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr.decode()
        local = run(["export", "tickets", "-o", str(tmp_path / "t.jsonl.gz")], server)
    assert keys(client, BUCKET) == ["nightly/t.jsonl.gz", "nightly/t.jsonl.gz.manifest.json"]
    body = client.get_object(Bucket=BUCKET, Key="nightly/t.jsonl.gz")["Body"].read()
    assert local.returncode == 0 and gzip.decompress(body) == gzip.decompress((tmp_path / "t.jsonl.gz").read_bytes())
    manifest = orjson.loads(client.get_object(Bucket=BUCKET, Key="nightly/t.jsonl.gz.manifest.json")["Body"].read())
    assert manifest["tickets"] == 300 and f"s3://{BUCKET}/nightly/t.jsonl.gz".encode() in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.jsonl.gz", "t.jsonl.gz.manifest.json"]  # the local one only


def test_partitioned_parquet_goes_up_as_hive_folders(s3, tmp_path):
    client, settings, BUCKET = s3
    with ServerThread(tickets=120, seed=2) as server:
        done = run(["export", "tickets", "-o", f"s3://{BUCKET}/wh/tickets.parquet", "--partition-by", "status"],
                   server, env=cli_env(server, **settings), cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    uploaded = keys(client, BUCKET)
    parts = [k for k in uploaded if k != "wh/tickets.parquet.manifest.json"]
    assert len(parts) == len(uploaded) - 1 >= 3
    assert all(k.startswith("wh/tickets.parquet/status=") and k.endswith(".parquet") for k in parts)


def test_an_interrupted_export_leaves_no_object(s3, tmp_path):
    client, settings, BUCKET = s3
    with ServerThread(tickets=3000, latency_ms=20) as server:
        env = cli_env(server, **settings)
        import subprocess

        from tests.e2e.cli import command

        proc = subprocess.Popen(command() + ["export", "tickets", "-o", f"s3://{BUCKET}/t.jsonl", "--per-page", "20",
                                             "--concurrency", "1"], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_until(lambda: server.realism.stats["requests"] >= 10)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 130
    assert keys(client, BUCKET) == [] and pending_uploads(client, BUCKET) == []
    assert list(tmp_path.iterdir()) == []


def test_an_upload_that_fails_half_way_is_aborted(s3, tmp_path):
    client, _, BUCKET = s3
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 * 1024 * 1024))  # several parts

    class Broken(Exception):
        pass

    fs = s3fs.S3FileSystem()
    real_open = open
    reads = {"n": 0}

    def failing_open(path, mode="r", *a, **kw):
        fh = real_open(path, mode, *a, **kw)
        if Path(path) != big:
            return fh
        real_read = fh.read

        def read(n=-1):
            reads["n"] += 1
            if reads["n"] == 2:  # the first part went up; the source fails during the second
                raise Broken()
            return real_read(n)

        fh.read = read
        return fh

    import builtins

    builtins.open = failing_open
    try:
        with pytest.raises(Broken):
            upload_file(fs, big, f"s3://{BUCKET}/big.bin")
    finally:
        builtins.open = real_open
    assert reads["n"] == 2 and keys(client, BUCKET) == [] and pending_uploads(client, BUCKET) == []


def test_unsupported_urls_are_usage_errors_not_local_folders(tmp_path):
    for url in ("ftp://host/x.jsonl", "s3a://b/x.jsonl", "s3://bucket-only"):
        done = run(["export", "tickets", "-o", url], None, cwd=tmp_path,
                   env=cli_env(None, HELPSPACE_TOKEN="t", HELPSPACE_CLIENT_ID="c"))
        assert done.returncode == 2, done.stderr.decode()
    assert list(tmp_path.iterdir()) == []

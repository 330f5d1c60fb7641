"""Parquet, partitions, schemas and nightly incremental runs, end to end on the embedded server."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest

from helpspace_async.testing import ServerThread
from tests.e2e.cli import run

pq = pytest.importorskip("pyarrow.parquet")


@pytest.fixture(scope="module")
def seeded():
    with ServerThread(tickets=900, seed=12) as server:
        yield server


def stamp(value: str | None):
    return datetime.fromisoformat(value) if value else None


def test_parquet_equals_the_jsonl_export_field_by_field(seeded, tmp_path):
    assert run(["export", "tickets", "-o", str(tmp_path / "t.jsonl")], seeded).returncode == 0
    done = run(["export", "tickets", "-o", str(tmp_path / "t.parquet")], seeded)
    assert done.returncode == 0, done.stderr.decode()
    table = pq.read_table(tmp_path / "t.parquet")
    assert str(table.schema.field("id").type) == "int64" and str(table.schema.field("tags").type) == "list<element: string>"
    assert str(table.schema.field("created_at").type) == "timestamp[us, tz=UTC]"
    assert pq.ParquetFile(tmp_path / "t.parquet").metadata.row_group(0).column(0).compression == "ZSTD"
    rows = table.to_pylist()
    lines = [orjson.loads(x) for x in (tmp_path / "t.jsonl").read_bytes().splitlines()]
    assert len(rows) == len(lines) == 900
    for row, ticket in zip(rows, lines, strict=True):
        for name in ("id", "subject", "status", "tags"):
            assert row[name] == ticket[name]
        for name in ("channel", "from_contact", "assignee", "team"):
            assert row[name] == ticket[name]
        for name in ("created_at", "updated_at", "last_contact", "deleted_at"):
            assert row[name] == stamp(ticket[name])
        assert row["extra"] is None and row["creator"] is None


def test_unknown_fields_are_kept_as_json(tmp_path):
    from pipelines.formats.parquet_format import ParquetFile

    pf = ParquetFile(tmp_path / "x.parquet", with_messages=False)
    pf.add([{"id": 1, "subject": "s", "status": "open", "tags": [], "sla": {"breached": True}, "created_at": "2021-01-01T00:00:00+00:00"}])
    pf.close()
    row = pq.read_table(tmp_path / "x.parquet").to_pylist()[0]
    assert json.loads(row["extra"]) == {"sla": {"breached": True}}


@pytest.mark.parametrize("by", ["created_date", "status"])
def test_partitions_are_complete_and_hive_style(seeded, tmp_path, by):
    out = tmp_path / "parts"
    done = run(["export", "tickets", "-o", str(out), "--format", "parquet", "--partition-by", by], seeded)
    assert done.returncode == 0, done.stderr.decode()
    assert not (tmp_path / "parts.part").exists()
    ids = []
    for folder in out.iterdir():
        key, _, value = folder.name.partition("=")
        assert key == by
        for part in folder.glob("part-*.parquet"):
            for row in pq.read_table(part).to_pylist():
                ids.append(row["id"])
                ticket = seeded.store.tickets[row["id"]]
                assert (ticket["created_at"][:10] if by == "created_date" else ticket["status"]) == value
    assert sorted(ids) == list(range(1, 901))
    manifest = json.loads((tmp_path / "parts.manifest.json").read_text())
    assert sum(manifest["partitions"].values()) == 900


def test_print_schema_describes_every_format(seeded, tmp_path):
    done = run(["export", "tickets", "--print-schema"], None)
    assert done.returncode == 0
    schema = json.loads(done.stdout)
    assert schema["jsonl"]["properties"]["status"]["enum"][1] == "escaleted"
    assert run(["export", "tickets", "-o", str(tmp_path / "t.csv")], seeded).returncode == 0
    header = (tmp_path / "t.csv").read_bytes().decode("utf-8").split("\r\n", 1)[0].split(",")
    assert [c["name"] for c in schema["csv"]] == header
    assert {c["name"] for c in schema["parquet"]} >= {"id", "created_at", "tags", "extra"}


@pytest.mark.parametrize("args", [["-o", "t.parquet", "--resume"], ["-o", "t.jsonl", "--partition-by", "status"],
                                  ["-o", "t.jsonl", "--keep", "2"]])
def test_impossible_combinations_exit_2(seeded, tmp_path, args):
    done = run(["export", "tickets", *args], seeded, cwd=tmp_path)
    assert done.returncode == 2, done.stderr.decode()
    assert not [p for p in tmp_path.iterdir() if p.suffix in (".parquet", ".jsonl")]


def ids_of(path: Path) -> set[int]:
    """The ids in an export; a duplicate fails the test (a set would hide it)."""
    ids = [orjson.loads(x)["id"] for x in path.read_bytes().splitlines()]
    assert len(ids) == len(set(ids)), f"duplicate ids in {path.name}"
    return set(ids)


def test_nightly_incremental_runs_and_retention(tmp_path):
    state = tmp_path / "state.json"
    with ServerThread(tickets=400, seed=13) as server:
        def nightly(name: str, *extra: str):
            done = run(["export", "tickets", "-o", str(tmp_path / name), "--since-last-run", str(state), *extra], server)
            assert done.returncode == 0, done.stderr.decode()
            return done

        first = nightly("day1.jsonl")
        assert b"full export" in first.stderr and ids_of(tmp_path / "day1.jsonl") == set(range(1, 401))

        # Since then: two new tickets, a reply on an old one, and tickets dated around the day boundary.
        started = datetime.fromisoformat(json.loads(state.read_text())["runs"][-1]["started_at"])
        day_before = (started - timedelta(days=1)).replace(hour=0, minute=0, second=1)
        too_old = day_before - timedelta(seconds=5)

        def create(subject: str, created_at: datetime | None = None) -> int:
            from helpspace_async.testing.store import now_iso

            stamp_ = (created_at or datetime.now(timezone.utc)).replace(microsecond=0).isoformat()
            ticket = {"subject": subject, "channel": {"id": 1}, "status": "open", "assignee": None, "team": None,
                      "creator": None, "tags": [], "from_contact": {"id": 1, "user_id": None, "name": None,
                                                                    "value": "n@example.com", "type": "email"},
                      "last_contact": stamp_, "created_at": stamp_, "updated_at": now_iso(), "deleted_at": None}
            message = {"type": "external", "body": "x", "from_contact": None, "created_at": stamp_, "attachments": []}
            return server.store.insert_ticket(ticket, message)["id"]

        new = {create("new one"), create("new two"), create("just before the run started", started - timedelta(seconds=10)),
               create("first second of the day before", day_before)}
        old = create("two days before, dated long ago", too_old)
        server.store.add_message(7, {"type": "external", "body": "a reply", "from_contact": None,
                                     "created_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(), "attachments": []})
        second = nightly("day2.jsonl")
        assert b"incremental export" in second.stderr
        assert ids_of(tmp_path / "day2.jsonl") == new | {7}
        assert old not in ids_of(tmp_path / "day2.jsonl")

        (tmp_path / "not-ours.jsonl").write_text("{}\n")
        third = nightly("day3.jsonl", "--keep", "1")
        assert ids_of(tmp_path / "day3.jsonl") == new | {7}  # same day: the overlap re-exports them
        assert not (tmp_path / "day1.jsonl").exists() and not (tmp_path / "day2.jsonl").exists()
        assert not (tmp_path / "day1.jsonl.manifest.json").exists()
        assert (tmp_path / "not-ours.jsonl").exists() and (tmp_path / "day3.jsonl.manifest.json").exists()
        assert b"removed old export" in third.stderr

        full = nightly("day4.jsonl", "--full", "--keep", "2")
        assert b"full export" in full.stderr and len(ids_of(tmp_path / "day4.jsonl")) == 405
        assert (tmp_path / "day3.jsonl").exists()
        runs = json.loads(state.read_text())["runs"]
        assert [r["mode"] for r in runs] == ["full", "incremental", "incremental", "full"]


def test_the_nightly_line_run_twice_in_a_day_never_replaces_the_days_export(tmp_path):
    state, out = tmp_path / "state.json", tmp_path / "tickets-day.jsonl.gz"
    with ServerThread(tickets=40, seed=13) as server:
        argv = ["export", "tickets", "-o", str(out), "--since-last-run", str(state)]
        assert run(argv, server).returncode == 0
        good = out.read_bytes()
        again = run(argv, server)
    assert again.returncode == 2 and b"already holds the run" in again.stderr, again.stderr.decode()
    assert out.read_bytes() == good and len(gzip.decompress(good).splitlines()) == 40

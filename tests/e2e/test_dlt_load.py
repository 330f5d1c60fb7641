"""`helpspace load` (the dlt source) into DuckDB against the embedded server: counts, joins, merges."""

from __future__ import annotations

import asyncio

import pytest

duckdb = pytest.importorskip("duckdb")
pytest.importorskip("dlt")

from helpspace_async.testing import ServerThread  # noqa: E402
from tests.e2e.cli import cli_env, run  # noqa: E402


def query(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def test_load_fills_duckdb_and_a_rerun_merges(tmp_path):
    db = tmp_path / "helpspace.duckdb"
    with ServerThread(tickets=250, seed=3) as server:
        env = cli_env(server, DLT_DATA_DIR=str(tmp_path / "dlt-home"))
        first = run(["load", "--with-messages", "--no-progress"], server, env=env, cwd=tmp_path)
        assert first.returncode == 0, first.stderr.decode()
        assert b"tickets 250" in first.stderr and db.exists()
        [(customers,)] = query(db, "select count(*) from helpspace_dataset.customers")
        assert customers == len(server.people.customers) > 0
        [(tickets, distinct)] = query(db, "select count(*), count(distinct id) from helpspace_dataset.tickets")
        assert tickets == distinct == 250
        subjects = dict(query(db, "select id, subject from helpspace_dataset.tickets"))
        assert subjects[7] == server.store.tickets[7]["subject"]
        joined = query(db, "select t.id, count(m.id) from helpspace_dataset.tickets t join helpspace_dataset.messages m "
                           "on m.ticket_id = t.id group by t.id")
        assert len(joined) == 250 and sum(n for _, n in joined) == sum(len(server.store.messages_of(i)) for i in range(1, 251))
        columns = {c for (c,) in query(db, "select column_name from information_schema.columns "
                                           "where table_name = 'tickets'")}
        assert {"channel__name", "from_contact__value", "assignee__email", "tags", "created_at"} <= columns

        async def change() -> None:
            async with server.client() as hs:
                await hs.tickets.update(5, {"tags": ["vip"]})
                await hs.tickets.delete(6)
                await hs.tickets.delete(7)

        asyncio.run(change())
        again = run(["load", "--no-progress"], server, env=env, cwd=tmp_path)
        assert again.returncode == 0, again.stderr.decode()
    [(tickets, distinct)] = query(db, "select count(*), count(distinct id) from helpspace_dataset.tickets")
    assert tickets == distinct == 248  # merged in place; the two deleted tickets are gone
    [(tags,)] = query(db, "select tags from helpspace_dataset.tickets where id = 5")
    assert "vip" in tags and not query(db, "select 1 from helpspace_dataset.tickets where id in (6, 7)")

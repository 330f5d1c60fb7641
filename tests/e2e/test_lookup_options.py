"""--users/--agents/--groups/--fields belong to other helpdesks' exports: said, not ignored."""

from __future__ import annotations

import orjson

from tests.e2e.cli import run


def test_lookup_files_on_an_input_that_names_nobody_by_id_exit_2(tmp_path):
    src, users = tmp_path / "tickets.jsonl", tmp_path / "users.json"
    src.write_bytes(orjson.dumps({"subject": "S", "from_contact": {"email": "a@customer.example"},
                                  "message": {"body": "<p>x</p>"}}) + b"\n")
    users.write_bytes(b"[]")
    done = run(["import", "tickets", str(src), "--users", str(users), "--dry-run"], cwd=tmp_path)
    assert done.returncode == 2 and b"--users resolve ids in Zendesk, Freshdesk and Help Scout exports" in done.stderr

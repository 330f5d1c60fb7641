"""The run-discipline modules on their own: locks, resume checks, the boundary (no HTTP)."""

from __future__ import annotations

import multiprocessing
import os
import time

import orjson
import pytest

from pipelines import locks
from pipelines.errors import ExportConfigError, UsageError
from pipelines.resume import (
    check_identity,
    check_part,
    prefix_digest,
    refuse_silent_restart,
    run_identity,
)

TAIL = 1 << 16  # bytes: a .part well past a few lines


def _hold_in_child(lock_file: str, ready, release) -> None:  # noqa: ANN001 -- multiprocessing events
    with locks.hold(locks.Path(lock_file), "test", wait=0):
        ready.set()
        release.wait(10)


def holder(lock_file):  # noqa: ANN001, ANN201 -- (process, release event)
    """Another process holding `lock_file`, once it holds it."""
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold_in_child, args=(str(lock_file), ready, release))
    child.start()
    assert ready.wait(10)
    return child, release


def test_a_lock_held_by_another_process_is_refused_naming_the_holder(tmp_path):
    lock_file = tmp_path / "out.jsonl.lock"
    child, release = holder(lock_file)
    try:
        started = time.monotonic()
        with pytest.raises(locks.TargetLocked) as refused:
            with locks.hold(lock_file, "the export to out.jsonl", wait=0):
                pass
        assert time.monotonic() - started < 0.5  # at once, not after some default wait
        message = str(refused.value)
        assert f"pid {child.pid}" in message and "the export to out.jsonl" in message and "--wait-lock" in message
        assert isinstance(refused.value, UsageError)  # exit 2
        started = time.monotonic()
        with pytest.raises(locks.TargetLocked):
            with locks.hold(lock_file, "x", wait=0.5):
                pass
        assert time.monotonic() - started >= 0.45  # it waited as long as it was allowed, then refused
    finally:
        release.set()
        child.join(10)
    with locks.hold(lock_file, "x", wait=0):  # released when the holder ended
        assert orjson.loads(lock_file.read_bytes())["pid"] == os.getpid()
    assert not lock_file.exists()  # removed on release: nothing left beside the output


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    lock_file = tmp_path / "t.lock"
    child, _ = holder(lock_file)
    child.kill()
    child.join(10)
    with locks.hold(lock_file, "x", wait=0):
        pass


def test_lock_files_are_named_beside_inside_or_by_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert locks.sidecar(tmp_path / "a.jsonl") == tmp_path / "a.jsonl.lock"
    assert locks.inside(tmp_path / "b") == tmp_path / "b" / ".lock"
    one, two = locks.named("output", "s3://x/a"), locks.named("output", "s3://x/b")
    assert one != two and one.parent == tmp_path / "cache" / "helpspace" / "locks"


def test_the_identity_names_the_origin_and_hides_the_client_id():
    ident = run_identity("HTTPS://Api.Example.com/", "client-secret-id", "export tickets")
    assert ident["origin"] == "https://api.example.com:443" and ident["command"] == "export tickets"
    assert "client-secret-id" not in str(ident) and len(ident["client"]) == 16
    assert run_identity("http://127.0.0.1:8080", "c", "x")["origin"] == "http://127.0.0.1:8080"
    assert run_identity("https://a", "c1", "x")["client"] != run_identity("https://a", "c2", "x")["client"]


@pytest.mark.parametrize("saved", [None, [], "x", {"origin": "https://b.example:443", "client": "c", "command": "e"}])
def test_a_checkpoint_of_another_run_is_refused(tmp_path, saved):
    with pytest.raises(ExportConfigError, match="--restart"):
        check_identity(tmp_path / "c.json", saved, {"origin": "https://a.example:443", "client": "c", "command": "e"})
    same = {"origin": "https://a.example:443", "client": "c", "command": "e"}
    check_identity(tmp_path / "c.json", dict(same), same)


def test_the_part_must_hold_exactly_what_the_checkpoint_recorded(tmp_path):
    part = tmp_path / "t.part"
    part.write_bytes(b"x" * (TAIL + 100))
    tail = prefix_digest(part, TAIL + 50)
    assert check_part(part, TAIL + 50, tail, tmp_path / "c") == TAIL + 50
    assert check_part(part, 0, prefix_digest(part, 0), tmp_path / "c") == 0
    for offset in (-1, True, "5", None, TAIL + 101):
        with pytest.raises(ExportConfigError):
            check_part(part, offset, tail, tmp_path / "c")
    data = bytearray(part.read_bytes())
    data[TAIL + 49] = ord("y")  # the last recorded byte changed
    part.write_bytes(bytes(data))
    with pytest.raises(ExportConfigError, match="does not hold"):
        check_part(part, TAIL + 50, tail, tmp_path / "c")
    part.unlink()
    with pytest.raises(ExportConfigError, match="is gone"):
        check_part(part, 10, tail, tmp_path / "c")


def test_the_digest_covers_every_byte_before_the_offset_and_none_after(tmp_path):
    """An edit anywhere in what was written is seen (a reviewer edited bytes 100 KB before the end and the
    tail-only hash let it through); what lies past the offset (cut on resume) is not looked at."""
    part = tmp_path / "t.part"
    part.write_bytes(b"a" * 10 + b"b" * TAIL + b"c" * 10)
    edited = tmp_path / "u.part"
    edited.write_bytes(b"z" + b"a" * 9 + b"b" * TAIL + b"q" * 10)
    assert prefix_digest(edited, 10 + TAIL) != prefix_digest(part, 10 + TAIL)
    assert prefix_digest(edited, 0) == prefix_digest(part, 0)
    import hashlib

    assert prefix_digest(part, 10 + TAIL) == hashlib.sha256(b"a" * 10 + b"b" * TAIL).hexdigest()
    with pytest.raises(ExportConfigError):  # a checkpoint without the digest is not trusted
        check_part(part, 10, None, tmp_path / "c")


def test_a_waiting_checkpoint_needs_resume_or_restart(tmp_path):
    checkpoint = tmp_path / "c.json"
    refuse_silent_restart(checkpoint, resume=False, restart=False)  # nothing waits: fine
    checkpoint.write_text("{}")
    with pytest.raises(ExportConfigError, match="--resume.*--restart"):
        refuse_silent_restart(checkpoint, resume=False, restart=False)
    refuse_silent_restart(checkpoint, resume=True, restart=False)
    assert checkpoint.exists()
    refuse_silent_restart(checkpoint, resume=False, restart=True)
    assert not checkpoint.exists()


TICKET = {"id": 0, "status": "open", "subject": "s", "created_at": "2024-01-01T00:00:00Z", "updated_at": None,
          "last_contact": "2024-01-02T00:00:00+00:00", "from_contact": {}, "assignee": None, "team": {},
          "channel": {}, "tags": ["a", {"name": "b"}]}


@pytest.mark.parametrize("field,bad", [("status", 1), ("subject", ["x"]), ("created_at", "nope"),
                                       ("updated_at", 5), ("last_contact", "2024-99-99"), ("from_contact", "x"),
                                       ("assignee", 3), ("team", "t"), ("channel", []), ("tags", [1]),
                                       ("tags", "a,b"), ("id", -1), ("id", False)])
def test_every_field_the_pipelines_use_is_checked(field, bad):
    from pipelines.boundary import ticket_problem

    assert ticket_problem(TICKET) is None  # id 0, a `Z` date, None and {} where allowed: all kept
    problem = ticket_problem({**TICKET, field: bad})
    assert problem is not None and (field in problem or "id" in problem)


@pytest.mark.parametrize("field,bad", [("updated_at", "x"), ("created_at", 3), ("name", 1), ("email", {})])
def test_every_person_field_the_pipelines_use_is_checked(field, bad):
    from pipelines.boundary import person_problem

    assert person_problem({"id": 0, "created_at": "2024-01-01T00:00:00Z"}, "customers") is None
    assert field in (person_problem({"id": 1, field: bad}, "customers") or "")


def test_a_negative_offset_is_refused_as_unusable(tmp_path):
    part = tmp_path / "p"
    part.write_bytes(b"abc")
    with pytest.raises(ExportConfigError, match="no usable offset"):
        check_part(part, -1, prefix_digest(part, 3), tmp_path / "c")


def test_a_symlinked_part_is_measured_as_the_link_not_followed(tmp_path):
    real = tmp_path / "real"
    real.write_bytes(b"x" * 100)
    link = tmp_path / "t.part"
    link.symlink_to(real)
    with pytest.raises(ExportConfigError):
        check_part(link, 100, prefix_digest(real, 100), tmp_path / "c")  # the link itself is not 100 bytes of our output


@pytest.mark.parametrize("attachment,size,head,problem", [
    ({"size": 10, "mime_type": "application/pdf"}, 10, b"%PDF-1.7", None),
    ({"size": 10, "mime_type": "application/pdf"}, 9, b"%PDF-1.7", "9 bytes arrived where 10"),
    ({"size": 0, "mime_type": "text/plain"}, 0, b"", None),
    ({"mime_type": "application/pdf"}, 60, b"  <!DOCTYPE html><html>", "HTML page"),
    ({"mime_type": "image/png"}, 20, b"<HTML><body>", "HTML page"),
    ({"mime_type": "text/html"}, 20, b"<!doctype html>", None),
    ({"mime_type": "application/pdf"}, 20, b'{"message": "Unauthenticated."}', "JSON document"),
    ({"mime_type": "application/json"}, 20, b'{"a": 1}', None),
    ({"mime_type": "text/plain"}, 20, b'{"a": 1}', None),
    ({"mime_type": "application/octet-stream"}, 20, b"{not json", None),
    ({"size": True, "mime_type": None}, 3, b"abc", None),
])
def test_downloaded_bytes_are_checked_against_what_was_announced(attachment, size, head, problem):
    from pipelines.boundary import attachment_problem, shown_id

    found = attachment_problem(attachment, size, head)
    assert (found is None) if problem is None else (problem in (found or ""))
    assert shown_id({"id": "x" * 200}) == repr("x" * 200)[:80] and shown_id(5) == "5"

"""Atomic outputs, checkpoints, CSV rows and safe paths."""

from __future__ import annotations

import csv
import gzip
import io
import os

import pytest

from pipelines.attachments import decoded_size, resolve_inside, safe_name
from pipelines.boundary import ticket_problem
from pipelines.errors import UnsafePath, UsageError
from pipelines.files import PartFile, read_json, write_json_atomic
from pipelines.formats import csv_format, detect_format


def test_part_file_appears_only_when_finished(tmp_path):
    out = PartFile(tmp_path / "t.jsonl")
    out.write(b"a\n")
    out.sync()
    assert not (tmp_path / "t.jsonl").exists() and (tmp_path / "t.jsonl.part").read_bytes() == b"a\n"
    digest = out.finish()
    assert (tmp_path / "t.jsonl").read_bytes() == b"a\n" and len(digest) == 64
    assert not (tmp_path / "t.jsonl.part").exists()


def test_gzip_part_cut_back_to_an_offset_is_still_valid(tmp_path):
    out = PartFile(tmp_path / "t.jsonl.gz")
    out.write(b"one\n")
    offset = out.sync()
    out.write(b"two\n")
    out.close()
    resumed = PartFile(tmp_path / "t.jsonl.gz", resume_offset=offset)
    resumed.write(b"three\n")
    resumed.finish()
    assert gzip.decompress((tmp_path / "t.jsonl.gz").read_bytes()) == b"one\nthree\n"


def test_checkpoint_writes_are_atomic(tmp_path):
    path = tmp_path / "c.json"
    write_json_atomic(path, {"a": 1})
    write_json_atomic(path, {"a": 2})
    assert read_json(path) == {"a": 2} and not (tmp_path / "c.json.tmp").exists()
    assert read_json(tmp_path / "none.json") is None


def test_csv_cells_guard_formulas_and_keep_unknown_fields():
    enc = csv_format.CsvEncoder(with_messages=False)
    ticket = {"id": 1, "subject": "=HYPERLINK(\"x\")", "status": "open", "channel": None, "tags": ["a,b"], "sla": 3}
    text = (enc.header() + enc.encode(ticket)).decode()
    row = next(csv.DictReader(io.StringIO(text, newline="")))
    assert row["subject"].startswith("'=") and row["tags"] == '["a,b"]' and row["extra"] == '{"sla":3}'
    assert row["channel.id"] == "" and row["id"] == "1"
    raw = csv_format.CsvEncoder(with_messages=False, guard=False)
    assert '"=HYPERLINK(""x"")"' in raw.encode(ticket).decode()


def test_format_from_the_name():
    assert detect_format("a.jsonl.gz", None) == "jsonl" and detect_format("a.CSV", None) == "csv"
    assert detect_format("a.txt", "csv") == "csv"
    with pytest.raises(UsageError):
        detect_format("a.txt", None)


def test_safe_names_and_paths(tmp_path):
    assert safe_name("../../etc/passwd") == "passwd" and safe_name("a<b>.txt") == "a_b_.txt" and safe_name("..") == "file"
    (tmp_path / "ok.txt").write_text("x")
    assert resolve_inside(tmp_path, "ok.txt") == (tmp_path / "ok.txt").resolve()
    for bad in ("../x", "/etc/passwd", "C:\\x", "a/../../x"):
        with pytest.raises(UnsafePath):
            resolve_inside(tmp_path, bad)
    os.symlink("/etc", tmp_path / "etc")
    with pytest.raises(UnsafePath):
        resolve_inside(tmp_path, "etc/passwd")


def test_base64_size_without_decoding():
    import base64
    for n in range(0, 10):
        assert decoded_size(base64.b64encode(b"x" * n).decode()) == n


def test_a_write_error_is_sticky_and_never_reaches_a_checkpoint(tmp_path):
    """Disk full once: every later sync fails too, so no checkpoint can record bytes that were never
    written (the old file reported the error once, then went on counting)."""
    import errno

    import pytest

    from pipelines.errors import WriteFailed
    from pipelines.files import PartFile

    out = PartFile(tmp_path / "t.jsonl")
    out.write(b'{"id": 1}\n')
    good = out.sync()
    real = out._fh

    class FullDisk:
        def __init__(self) -> None:
            self.failed = False

        def write(self, data: bytes) -> int:
            if not self.failed:
                self.failed = True
                raise OSError(errno.ENOSPC, "No space left on device")
            return real.write(data)

        def __getattr__(self, name: str):
            return getattr(real, name)

    out._fh = FullDisk()  # type: ignore[assignment]
    out.write(b'{"id": 2}\n')
    for _ in range(3):  # the first sync and every one after it
        with pytest.raises(WriteFailed, match="No space left"):
            out.sync()
    with pytest.raises(WriteFailed):
        out.write(b'{"id": 3}\n')
    assert out.offset == good
    out._fh = real
    out.close()
    assert (tmp_path / "t.jsonl.part").read_bytes() == b'{"id": 1}\n'


def test_an_export_of_nothing_is_still_a_readable_gzip_file(tmp_path):
    import gzip

    from pipelines.files import PartFile

    out = PartFile(tmp_path / "t.jsonl.gz")
    out.finish()
    raw = (tmp_path / "t.jsonl.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b" and gzip.decompress(raw) == b""  # `zcat` refuses a 0-byte file


@pytest.mark.parametrize("ticket", [
    {"id": 1, "status": "../../../../escaped", "created_at": "2024-01-01T00:00:00Z"},
    {"id": 2, "status": "/abs/x", "created_at": "../../x/2024"},
    {"id": 3, "status": "..", "created_at": "2024-01-01/../../../x"},
    {"id": 4, "status": ["not", "a", "string"], "created_at": 17},
])
@pytest.mark.parametrize("by", ["status", "created_date"])
def test_partition_folders_made_from_server_data_stay_inside_the_output(tmp_path, ticket, by):
    pytest.importorskip("pyarrow")
    from pipelines.formats.parquet_format import PartitionedParquet

    root = tmp_path / "out"
    out = PartitionedParquet(root, by=by, with_messages=False)
    key = out.key(ticket)
    assert "/" not in key and key not in (".", "..") and key.startswith(f"{by}=")
    if ticket_problem(ticket) is not None:  # the boundary leaves it out before any writer sees it
        return
    out.add([ticket])
    out.close()
    written = [p for p in tmp_path.rglob("*.parquet")]
    assert written and all(p.parent.parent == root for p in written)


@pytest.mark.parametrize("ticket,problem", [
    ({"id": True}, "ids"), ({"id": "7"}, "ids"), ({"id": -1}, "ids"), ({"id": 1.0}, "ids"),
    ({"id": 1, "created_at": "2024-13-45"}, "created_at"), ({"id": 1, "status": ["x"]}, "status"),
    ({"id": 1, "tags": "a,b"}, "tags"), ({"id": 1, "from_contact": "x"}, "from_contact"), ("x", "object"),
])
def test_the_boundary_names_what_is_wrong_with_a_ticket(ticket, problem):
    assert problem in (ticket_problem(ticket) or "")
    assert ticket_problem({"id": 1, "status": "open", "created_at": "2024-01-01T00:00:00+00:00", "tags": ["a"],
                           "unknown_field": {"kept": True}}) is None


def test_the_boundary_names_what_is_wrong_with_people_and_tags():
    from pipelines.boundary import person_problem, tag_problem

    for record, problem in [({"id": "../x"}, "ids"), ({"id": 1, "email": 5}, "email"), ({"id": 1, "created_at": "x"},
                            "created_at"), (None, "objects"), ({"id": True}, "ids")]:
        assert problem in (person_problem(record, "customers") or "")
    assert person_problem({"id": 3, "email": "a@b.c", "avatar": {"any": "thing"}}, "customers") is None
    assert tag_problem({"name": None}) and tag_problem({"name": "  "}) and tag_problem("x")
    assert tag_problem({"name": "vip", "type": "ticket", "color": "#fff"}) is None

"""Reading inputs (rows and rejections with line numbers) and encoding messages, without a server."""

from __future__ import annotations

import base64
import gzip

import orjson
import pytest

from pipelines.attachments import MAX_ATTACHMENTS_BYTES
from pipelines.errors import InputError, Rejected
from pipelines.fetch import SourceFetcher
from pipelines.import_.encode import Encoder, split_attachments
from pipelines.import_.reader import RecordReader, Row, Unreadable
from pipelines.import_.records import Attachment, Message
from pipelines.sources.common import SourceContext
from tests.conftest import SAMPLES


def reader(path, **kw):
    return RecordReader(path, fmt=kw.pop("fmt", None), source=kw.pop("source", None), context=SourceContext(), **kw)


def test_jsonl_rows_and_rejections_keep_their_line_numbers(tmp_path):
    src = tmp_path / "in.jsonl.gz"
    lines = [b'{"subject": "a"}', b"", b"{not json", b"[1, 2]", b'{"subject": "b"}']
    src.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    items = list(reader(src))
    assert [(type(i).__name__, i.line) for i in items] == [("Row", 1), ("Unreadable", 3), ("Unreadable", 4), ("Row", 5)]
    assert "not valid JSON" in items[1].reason and "JSON object" in items[2].reason
    assert items[3].record == {"subject": "b"}


def test_csv_rows_span_lines_and_surplus_cells_are_rejected(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('subject,message.body\r\n"one","two\r\nlines"\r\nx,y,surplus\r\nlast,body\r\n', encoding="utf-8")
    items = list(reader(src))
    assert isinstance(items[0], Row) and items[0].line == 2 and items[0].record == {"subject": "one", "message": {"body": "two\r\nlines"}}
    assert isinstance(items[1], Unreadable) and items[1].line == 4 and "more cells" in items[1].reason
    assert isinstance(items[2], Row) and items[2].line == 5


def test_limit_counts_records_not_lines(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(orjson.dumps({"subject": str(n)}).decode() for n in range(10)))
    assert len(list(reader(src, limit=3))) == 3


def test_a_missing_input_is_an_input_error_and_a_nameless_one_is_sniffed(tmp_path):
    with pytest.raises(InputError, match="not found"):
        reader(tmp_path / "nope.jsonl")
    (tmp_path / "export_2026_11_20_abc123_1").write_text('{"subject": "a"}\n{"subject": "b"}\n')
    assert [i.record["subject"] for i in reader(tmp_path / "export_2026_11_20_abc123_1")] == ["a", "b"]
    (tmp_path / "table").write_text("subject,message.body\nx,y\n")
    nameless_csv = reader(tmp_path / "table")
    assert nameless_csv.format == "csv" and nameless_csv.reading == "CSV (by its content)"


def test_json_documents_are_streamed_as_records(tmp_path):
    import json

    (tmp_path / "array.json").write_text(json.dumps([{"subject": "a"}, {"subject": "b"}], indent=2))
    as_array = reader(tmp_path / "array.json")
    assert [i.record["subject"] for i in as_array] == ["a", "b"] and as_array.reading == "a JSON document (streamed)"
    as_array.close()
    wrapped = {"tickets": [{"id": 1, "subject": "One", "status": "open", "requester_id": 9, "via": {"channel": "web"},
                            "comments": [{"id": 1, "public": True, "author_id": 9, "html_body": "<p>hi</p>"}]}],
               "users": [{"id": 9, "name": "Nine", "email": "nine@customer.example", "role": "end-user"}], "count": 1}
    (tmp_path / "api.json").write_text(json.dumps(wrapped, indent=2))
    side_loaded = reader(tmp_path / "api.json")
    side_loaded.index_streams()
    rows = [i for i in side_loaded if isinstance(i, Row)]
    side_loaded.close()
    assert side_loaded.source == "zendesk" and rows[0].record["from_contact"]["email"] == "nine@customer.example"


def test_sources_are_detected_from_the_first_record():
    assert reader(SAMPLES / "sources" / "zendesk.jsonl").source == "zendesk"
    assert reader(SAMPLES / "sources" / "freshdesk.jsonl").source == "freshdesk"
    assert reader(SAMPLES / "sources" / "helpscout.jsonl").source == "helpscout"
    assert reader(SAMPLES / "sources" / "zendesk.csv").source == "zendesk"
    assert reader(SAMPLES / "import" / "tickets.jsonl").source == "helpspace"


def test_a_singer_stream_is_joined_to_its_parents():
    r = reader(SAMPLES / "sources" / "zendesk-singer.jsonl")
    r.index_streams()
    rows = [i for i in r if isinstance(i, Row)]
    r.close()
    assert rows and all(row.record["follow_ups"] is not None for row in rows)
    assert all("@" in row.record["from_contact"]["email"] for row in rows)  # users joined by id


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_attachments_over_5_mb_together_are_split_across_follow_ups():
    big = b64(b"x" * (3 * 1024 * 1024))
    message = {"body": "<p>hi</p>", "created_at": "2020-01-01T00:00:00+00:00",
               "attachments": [{"name": f"{n}.bin", "data": big} for n in range(3)]}
    first, rest = split_attachments(message)
    assert [a["name"] for a in first["attachments"]] == ["0.bin"]
    assert [[a["name"] for a in m["attachments"]] for m in rest] == [["1.bin"], ["2.bin"]]
    assert all(m["created_at"] == message["created_at"] for m in rest) and "2 of 3" in rest[0]["body"]
    small = {"body": "b", "attachments": [{"name": "a", "data": b64(b"x" * 10)}]}
    assert split_attachments(small) == (small, [])


async def test_relative_images_become_data_urls_and_paths_stay_inside(tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "logo.png").write_bytes(b"\x89PNG")
    (tmp_path / "secret.txt").write_text("no")
    encoder = Encoder(tmp_path / "files", SourceFetcher())
    encoded = await encoder.message(Message(body='<p><img src="logo.png" alt="l"></p>'))
    png = b64(b"\x89PNG")
    assert encoded["body"] == f'<p><img src="data:image/png;base64,{png}" alt="l"></p>'
    with pytest.raises(Rejected, match="outside"):
        await encoder.message(Message(body="x", attachments=[Attachment(name="s", path="../secret.txt")]))
    with pytest.raises(Rejected, match="alone is over"):
        huge = b64(b"x" * (MAX_ATTACHMENTS_BYTES + 1))
        await encoder.message(Message(body="x", attachments=[Attachment(name="huge", data=huge)]))
    await encoder.fetcher.close()


async def test_keep_links_links_the_file_instead_of_downloading(tmp_path):
    encoder = Encoder(tmp_path, SourceFetcher(), keep_links=True, download_images=True)
    encoded = await encoder.message(Message(body="<p>x</p>", attachments=[Attachment(name="a&b.pdf", url="https://old.example/f?x=1&y=2")]))
    assert "attachments" not in encoded
    assert '<a href="https://old.example/f?x=1&amp;y=2">a&amp;b.pdf</a>' in encoded["body"]

"""Reading the source helpdesks' list pages and signed links, without I/O."""

from __future__ import annotations

from pathlib import Path

from pipelines.fetch import expires
from pipelines.import_ import documents
from pipelines.sources.api import attachment_urls, next_page, page_records


def test_records_of_a_page_in_each_source_shape():
    assert page_records([{"id": 1}, 2]) == [{"id": 1}]  # Freshdesk: a bare array
    assert page_records({"users": [{"id": 1}], "next_page": None, "count": 1}) == [{"id": 1}]  # Zendesk
    assert page_records({"_embedded": {"customers": [{"id": 3}]}, "page": {"number": 1}}) == [{"id": 3}]  # Help Scout
    assert page_records({"error": "nope"}) == [] and page_records("text") == []


def test_the_next_page_whichever_way_the_source_says_it():
    assert next_page([], "https://x.freshdesk.com/api/v2/contacts?page=2") == "https://x.freshdesk.com/api/v2/contacts?page=2"
    assert next_page({"meta": {"has_more": True}, "links": {"next": "N"}}, None) == "N"
    assert next_page({"meta": {"has_more": False}, "links": {"next": "N"}}, None) is None  # has_more decides
    assert next_page({"next_page": "P"}, None) == "P" and next_page({"next_page": None}, None) is None
    assert next_page({"_links": {"next": {"href": "H"}}}, None) == "H"
    assert next_page([], None) is None


def test_attachment_urls_anywhere_in_a_ticket_document():
    body = {"id": 1, "attachments": [{"id": 5, "attachment_url": "A"}],
            "conversations": [{"id": 2, "attachments": [{"id": 6, "attachment_url": "B"}]}],
            "comments": [{"id": 3, "attachments": [{"id": 7, "content_url": "C"}]}]}
    assert attachment_urls(body) == {"5": "A", "6": "B", "7": "C"}


def test_signed_links_are_told_from_plain_ones():
    assert expires("https://s3.amazonaws.com/b/f.pdf?X-Amz-Algorithm=AWS4&X-Amz-Expires=300&X-Amz-Signature=ab")
    assert expires("https://acc.blob.core.windows.net/c/f?sv=2024&se=2026-12-01T00%3A00Z&sig=x")
    assert expires("https://d111.cloudfront.net/f.png?Expires=1700000000&Signature=x&Key-Pair-Id=K")
    assert not expires("https://acme.zendesk.com/attachments/token/abc/?name=a.pdf")
    assert not expires("https://example.com/f.png")


def test_a_one_line_ticket_with_conversations_is_jsonl_not_a_wrapper(tmp_path: Path):
    one = tmp_path / "one.jsonl"
    one.write_text('{"id": 1, "subject": "S", "conversations": [{"id": 2}], "attachments": []}\n')
    assert documents.sniff(one) == "jsonl"
    wrapper = tmp_path / "users"
    wrapper.write_text('{"users": [{"id": 1}], "next_page": null}')
    assert documents.sniff(wrapper) == "document"


def test_a_lookup_given_again_is_counted_once_and_the_newest_wins():
    from pipelines.sources.singer import SingerIndex

    index = SingerIndex("zendesk")
    try:
        index.add_lookup("users", {"id": 7, "name": "Old", "email": "old@x.example"})
        index.add_lookup("users", {"id": 7, "name": "New", "email": "new@x.example"})  # a later round of lookups
        assert index.counts == {"users": 1}
        assert index.lookup("users", 7)["email"] == "new@x.example"
    finally:
        index.close()


class _Reader:
    source = "zendesk"

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts

    def lookup_counts(self) -> dict[str, int]:
        return self.counts


def test_what_is_asked_of_the_source_api_each_round(tmp_path: Path):
    from pipelines.import_.source_lookups import SourceLookups

    lookups = SourceLookups(None, _Reader({}), "https://acme.zendesk.com", tmp_path / "in.jsonl", print)  # type: ignore[arg-type]
    endpoints = {"users": "u", "groups": "g"}
    first = lookups._not_yet_asked({"users": {"1", "2"}, "groups": {"5"}, "tickets": {"9"}}, endpoints)
    assert first == {"users": {"1", "2"}, "groups": {"5"}}  # no endpoint for tickets: not asked
    # the next round: users shown by id are asked for the ids named since; a listed kind never twice
    assert lookups._not_yet_asked({"users": {"1", "2", "3"}, "groups": {"5", "6"}}, endpoints) == {"users": {"3"}}
    assert lookups._not_yet_asked({"users": {"1", "2", "3"}}, endpoints) == {}
    names = SourceLookups(None, _Reader({}), "u", tmp_path / "in.jsonl", print)  # type: ignore[arg-type]
    assert names._not_yet_asked({"users": {"Ada Agent"}}, endpoints) == {"users": {"Ada Agent"}}  # listed whole, once
    assert names._not_yet_asked({"users": {"Ada Agent", "7"}}, endpoints) == {}
    given = SourceLookups(None, _Reader({"users": 3}), "u", tmp_path / "in.jsonl", print)  # type: ignore[arg-type]
    assert given._not_yet_asked({"users": {"8"}}, endpoints) == {}  # the input describes users: the API isn't asked

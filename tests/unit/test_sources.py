"""Each source adapter on its sample export: what every ticket becomes, without a server."""

from __future__ import annotations

import csv
import json

import orjson
import pytest

from pipelines.errors import Rejected, Skipped
from pipelines.import_.records import NOTE_TYPE, make_plan
from pipelines.sources import freshdesk, generic, helpscout, zendesk
from pipelines.sources.common import SourceContext, team
from tests.conftest import SAMPLES


def lines(name):
    return [orjson.loads(line) for line in (SAMPLES / "sources" / name).read_bytes().splitlines() if line.strip()]


def test_zendesk_json_export():
    first = lines("zendesk.jsonl")[0]
    out = zendesk.convert(first, SourceContext())
    r = out.record
    assert r["external_id"] == "zendesk:1001" and r["status"] == "waiting" and "zendesk-hold" in r["tags"]
    assert {"priority-high", "type-incident", "hardware"} <= set(r["tags"])
    assert r["from_contact"] == {"email": "zoe@customer.example", "name": "Zoë Müller"}
    assert r["team"] == {"name": "Second Level S"} and r["assignee"] == {"email": "ada@helpdesk.example"}
    assert r["message"]["body"].endswith("<p><small>Imported from Zendesk #1001</small></p>")
    plan = make_plan(r)  # what the adapter makes is a valid import record
    assert plan.key == "ext:zendesk:1001"


def test_zendesk_notes_are_counted_unless_included():
    first = lines("zendesk.jsonl")[0]
    quiet, loud = zendesk.convert(first, SourceContext()), zendesk.convert(first, SourceContext(include_notes=True))
    notes = sum(1 for c in first.get("comments", []) if not c.get("public", True))
    assert quiet.skipped_notes == notes and loud.skipped_notes == 0
    assert sum(1 for m in loud.record["follow_ups"] if m["type"] == NOTE_TYPE) == notes


def test_zendesk_deleted_tickets_are_skipped_not_rejected():
    with pytest.raises(Skipped, match="deleted in source"):
        zendesk.convert({"id": 5, "status": "deleted", "subject": "x"}, SourceContext())


def test_airbyte_messages_and_raw_lines_become_singer_records():
    from pathlib import Path

    from pipelines.sources.singer import normalise, stream_of_file

    protocol = {"type": "RECORD", "record": {"stream": "tickets", "data": {"id": 1}, "emitted_at": 1641031200000}}
    assert normalise(protocol) == {"type": "RECORD", "stream": "tickets", "record": {"id": 1}}
    v1 = {"_airbyte_ab_id": "u", "_airbyte_emitted_at": 1, "_airbyte_data": {"id": 2}}
    v2 = {"_airbyte_raw_id": "u", "_airbyte_extracted_at": "t", "_airbyte_meta": {}, "_airbyte_data": '{"id": 3}'}
    assert normalise(v1, "users")["record"] == {"id": 2} and normalise(v2, "users")["record"] == {"id": 3}
    assert normalise({"type": "LOG", "log": {"level": "INFO", "message": "x"}})["stream"] is None
    assert stream_of_file(Path("_airbyte_raw_ticket_comments.jsonl")) == "ticket_comments"


def test_help_scout_conversations_without_threads_say_how_to_export_them():
    with pytest.raises(Rejected, match="embed=threads"):
        helpscout.convert({"id": 1, "subject": "s", "threads": 2, "primaryCustomer": {"email": "a@b.example"}}, SourceContext())


def test_zendesk_csv_reads_dates_in_the_source_time_zone():
    with open(SAMPLES / "sources" / "zendesk.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    berlin = zendesk.convert_csv(rows[1], SourceContext(source_tz="Europe/Berlin")).record
    assert berlin["created_at"] == "2021-07-01T10:00:00+00:00"  # 12:00 in Berlin's summer time
    first = zendesk.convert_csv(rows[0], SourceContext())
    assert first.flags == ["placeholder body (Zendesk CSV has no comments)"]
    assert first.record["team"] == {"name": "Billing"} and "priority-urgent" in first.record["tags"]


def test_freshdesk_numbers_become_statuses_and_tags():
    first = lines("freshdesk.jsonl")[0]
    r = freshdesk.convert(first, SourceContext()).record
    assert r["external_id"] == "freshdesk:3001" and r["status"] == "open"
    assert {"priority-high", "via-email", "type-incident", "login"} <= set(r["tags"])
    assert 'src="https://attachment.freshdesk.com/inline' in r["message"]["body"]  # cid: prefix dropped
    assert freshdesk.convert({**first, "spam": True}, SourceContext()).record["status"] == "spam"


def test_help_scout_threads_are_put_in_order_and_line_items_dropped():
    first = lines("helpscout.jsonl")[0]
    out = helpscout.convert(first, SourceContext())
    r = out.record
    assert r["status"] == "waiting" and r["from_contact"] == {"email": "jose@customer.example", "name": "José Ñúñez"}
    assert "<p>Where is my order?</p>" in r["message"]["body"]
    assert r["message"]["attachments"] == [{"name": "receipt.txt", "mime_type": "text/plain",
                                            "data": "aGVscCBzY291dCBmaWxlIGJ5dGVz"}]
    assert [m["body"] for m in r["follow_ups"]] == [  # who wrote it, as the last line (AUTHOR_LINE)
        "<p>It is on its way.</p>\n<p><small>— &lt;chen@helpdesk.example&gt;, agent</small></p>"]
    assert out.skipped_notes == 1
    tap = helpscout.convert(lines("helpscout.jsonl")[1], SourceContext()).record
    assert tap["from_contact"]["email"] == "tap@customer.example" and tap["status"] == "closed"


def test_generic_mapping_follows_its_file():
    mapping = generic.load_mapping(str(SAMPLES / "sources" / "generic-mapping.json"))
    ctx = SourceContext(mapping=mapping)
    one, two = (generic.convert(r, ctx).record for r in lines("generic.jsonl")[:2])
    spec = json.loads((SAMPLES / "sources" / "generic-mapping.json").read_text())["fields"]
    assert one["from_contact"]["email"] == "gen@customer.example"  # lowercase transform
    assert one["tags"] == ["alpha", "beta"] and one["status"] == spec["status"]["lookup"]["done"]
    assert one["created_at"].startswith("2024-05-06T07:08:09") and two["created_at"].startswith("2024-05-31")


def test_team_names_are_cut_to_the_api_limit():
    assert team("Second Level Support") == {"name": "Second Level S"} and team("") is None


def test_custom_fields_are_tagged_by_label_when_the_definitions_are_given():
    from pipelines.sources.common import field_tags

    definitions = {"360001": {"id": 360001, "title": "Plan", "custom_field_options": [{"name": "Gold plan", "value": "gold"}]},
                   "cf_region": {"name": "cf_region", "label": "Sales region", "choices": {"North EU": 3}}}
    ctx = SourceContext(lookup=lambda kind, key: definitions.get(str(key)) if kind == "fields" else None)
    unresolved: list[tuple[str, str]] = []
    tags = field_tags([{"id": 360001, "value": "gold"}, {"id": 42, "value": ["a", "b"]}], ctx, unresolved)
    assert tags == ["field-plan-gold-plan", "field-42-a", "field-42-b"]  # a multi-select: a tag per option
    assert unresolved == [("field", "42")]  # named only by id, nobody described it
    assert field_tags({"cf_region": 3, "cf_empty": None, "Plain name": "x"}, ctx, unresolved) == [
        "field-sales-region-north-eu", "field-plain-name-x"]
    assert field_tags([{"id": 8, "name": "Order channel", "value": "21", "text": "Web shop"}]) == [
        "field-order-channel-web-shop"]  # Help Scout carries its labels


def test_freshdesk_ids_resolve_through_lookups_and_outbound_tickets_start_with_the_agent():
    found = {("users", "9"): {"id": 9, "name": "Mia", "email": "mia@customer.example"},
             ("agents", "7"): {"id": 7, "contact": {"name": "Ada", "email": "ada@helpdesk.example"}},
             ("groups", "3"): {"id": 3, "name": "Billing"}}
    ctx = SourceContext(lookup=lambda kind, key: found.get((kind, str(key))))
    out = freshdesk.convert({"id": 1, "subject": "Quote", "description": "<p>Quote</p>", "status": 2, "source": 10,
                             "requester_id": 9, "responder_id": 7, "group_id": 3, "custom_fields": {}}, ctx)
    assert out.record["from_contact"]["email"] == "mia@customer.example" and out.record["team"] == {"name": "Billing"}
    assert out.record["assignee"] == {"email": "ada@helpdesk.example"} and not out.unresolved
    assert "Ada &lt;ada@helpdesk.example&gt;, agent" in out.record["message"]["body"]
    assert "outbound: first message by the agent" in out.flags
    missing = freshdesk.convert({"id": 2, "subject": "S", "status": 2, "email": "x@customer.example",
                                 "responder_id": 70, "group_id": 30}, ctx)
    assert sorted(missing.unresolved) == [("assignee", "70"), ("group", "30")]
    with pytest.raises(Rejected) as refused:
        freshdesk.convert({"id": 3, "subject": "S", "status": 2, "requester_id": 99}, ctx)
    assert refused.value.unresolved == [("requester", "99")] and "--users FILE" in refused.value.reason


def test_zendesk_csv_assignee_names_resolve_through_users():
    users = {("users", "name:ada agent"): {"id": 1, "name": "Ada Agent", "email": "ada@helpdesk.example"}}
    ctx = SourceContext(lookup=lambda kind, key: users.get((kind, str(key))))
    row = {"Id": "5", "Subject": "S", "Requester email": "r@customer.example", "Status": "open", "Assignee": "Ada Agent",
           "Created at": "2024-01-02 10:00"}
    assert zendesk.convert_csv(row, ctx).record["assignee"] == {"email": "ada@helpdesk.example"}
    other = zendesk.convert_csv({**row, "Assignee": "Nobody Known"}, ctx)
    assert other.record["assignee"] is None and other.unresolved == [("assignee", "Nobody Known")]

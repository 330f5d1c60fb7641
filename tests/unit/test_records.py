"""Input records -> create bodies, without I/O."""

from __future__ import annotations

import pytest

from pipelines.errors import Rejected
from pipelines.import_.records import from_csv_row, make_plan, record_key


def base(**over):
    r = {"subject": "S", "channel": {"id": 1}, "from_contact": {"email": "a@b.example"}, "message": {"body": "<p>x</p>"}}
    r.update(over)
    return r


def test_a_migration_is_silent_unless_asked():
    ticket = make_plan(base()).ticket
    assert ticket == {"subject": "S", "channel": {"id": 1}, "from_contact": {"email": "a@b.example"},
                      "skip_rules": True, "skip_autoreply": True, "skip_notifications": True}
    assert ticket["skip_rules"] and ticket["skip_autoreply"] and ticket["skip_notifications"]
    loud = make_plan(base(), notify=True).ticket
    assert not (loud["skip_rules"] or loud["skip_autoreply"] or loud["skip_notifications"])


def test_keys_prefer_the_source_id_else_hash_the_content():
    assert make_plan(base(external_id=42)).key == "ext:42"
    assert make_plan(base()).key == make_plan(base()).key != make_plan(base(subject="T")).key
    assert record_key({"b": 1, "a": 2}) == record_key({"a": 2, "b": 1})


def test_an_exported_ticket_is_mapped():
    exported = {
        "id": 7, "subject": "S", "channel": {"id": 2, "name": "Widget"}, "status": "escaleted",
        "from_contact": {"id": 3, "value": "z@x.example", "name": "Zoë"}, "assignee": {"id": 1, "name": "A"},
        "team": {"id": 1, "name": "Support"}, "tags": ["vip"], "created_at": "2021-09-10T23:06:50+00:00",
        "messages": [
            {"type": "external", "body": "first", "attachments": [{"name": "a.txt", "data": "aGk="}]},
            {"type": "internal", "body": "note", "attachments": []},
            {"type": "external", "body": "reply", "created_at": "2021-09-11T00:00:00+00:00", "attachments": []},
        ],
    }
    p = make_plan(exported)
    assert p.key == "ext:helpspace:7"
    assert p.ticket["from_contact"] == {"email": "z@x.example", "name": "Zoë"}
    assert p.ticket["channel"] == {"id": 2} and p.ticket["assignee"] == {"id": 1} and p.ticket["team"] == {"name": "Support"}
    assert p.message.body == "first" and p.message.attachments[0].data == "aGk="
    assert [m.body for m in p.follow_ups] == ["reply"] and p.skipped_notes == 1


@pytest.mark.parametrize(
    "record, field",
    [
        (base(subject=" "), "subject"),
        (base(from_contact={"email": "nope"}), "from_contact.email"),
        (base(status="escalated"), "status"),
        (base(team={"name": "A team name that is too long"}), "team.name"),
        (base(message={"body": ""}), "message.body"),
        (base(channel=None), "channel.id"),
        (base(created_at="yesterday"), "created_at"),
        ({"id": 5, "subject": "S", "from_contact": {"value": "a@b.example"}, "channel": {"id": 1}}, "messages"),
    ],
)
def test_bad_records_name_the_field(record, field):
    with pytest.raises(Rejected) as info:
        make_plan(record)
    assert field in info.value.field_errors


def test_dates_get_an_offset():
    assert make_plan(base(created_at="2021-06-01 09:30:00")).ticket["created_at"] == "2021-06-01T09:30:00+00:00"
    assert make_plan(base(created_at="2021-06-01T09:30:00Z")).ticket["created_at"] == "2021-06-01T09:30:00+00:00"


def test_csv_rows_nest_dotted_columns():
    row = {"subject": "S", "channel.id": "1", "from_contact.email": "a@b.example", "message.body": "b",
           "tags": "a, b", "message.attachments": "files/x.txt; files/y.png", "status": ""}
    record = from_csv_row(row)
    assert record["channel"] == {"id": "1"} and record["tags"] == ["a", "b"] and "status" not in record
    p = make_plan(record)
    assert p.ticket["channel"] == {"id": 1} and [a.path for a in p.message.attachments] == ["files/x.txt", "files/y.png"]
    assert from_csv_row({"tags": '["x, y"]'})["tags"] == ["x, y"]

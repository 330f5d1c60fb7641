"""The exactly-once protocol against a fake client that records what it was asked, no HTTP."""

from __future__ import annotations

import orjson
import pytest

from helpspace_async import AmbiguousCreate
from pipelines.import_.exactly_once import ExactlyOnce
from pipelines.import_.journal import Journal
from pipelines.import_.records import make_plan
from pipelines.import_.summary import ImportSummary


class FakeHelpdesk:
    """Tickets and messages in memory; `lose_answers` commits a create, then raises AmbiguousCreate."""

    def __init__(self, journal_path, *, lose_answers: int = 0, commit_lost: bool = True) -> None:
        self.journal_path = journal_path
        self.lose_answers = lose_answers
        self.commit_lost = commit_lost
        self.tickets: dict[int, dict] = {}
        self.messages_of: dict[int, list[dict]] = {}
        self.creates: list[str] = []
        self.intents_on_disk_at_create: list[bool] = []
        self.tickets_api = self

    # client.tickets
    @property
    def tickets_resource(self):
        return self

    async def create(self, body):
        on_disk = [orjson.loads(line) for line in self.journal_path.read_bytes().splitlines()]
        self.intents_on_disk_at_create.append(any("intent" in e for e in on_disk))
        self.creates.append(body["subject"])
        if self.lose_answers and not self.commit_lost:
            self.lose_answers -= 1
            raise AmbiguousCreate("lost", method="POST", path="/api/v1/tickets", body=body)
        tid = len(self.tickets) + 1
        self.tickets[tid] = {"id": tid, "subject": body["subject"], "created_at": body["created_at"],
                             "from_contact": {"value": body["from_contact"]["email"]}}
        if self.lose_answers:
            self.lose_answers -= 1
            raise AmbiguousCreate("lost", method="POST", path="/api/v1/tickets", body=body)
        return self.tickets[tid]

    async def iter(self, *, subject, contacts, created_between):
        for t in sorted(self.tickets.values(), key=lambda t: t["id"]):  # ascending, as the API docs' example lists
            if t["subject"] in subject:
                yield t

    def messages(self, ticket_id):
        return FakeMessages(self, ticket_id)


class FakeMessages:
    def __init__(self, desk: FakeHelpdesk, ticket_id: int) -> None:
        self.desk, self.ticket_id = desk, ticket_id

    async def create(self, body):
        self.desk.messages_of.setdefault(self.ticket_id, []).append(body)
        return body

    async def iter(self, **_):
        for m in self.desk.messages_of.get(self.ticket_id, []):
            yield m


class FakeClient:
    def __init__(self, desk: FakeHelpdesk) -> None:
        self.tickets = desk
        self.messages = desk.messages


def record(**over):
    r = {"subject": "Same subject", "channel": {"id": 1}, "from_contact": {"email": "a@b.example"},
         "created_at": "2020-01-01T00:00:00+00:00", "message": {"body": "<p>x</p>"}}
    r.update(over)
    return r


@pytest.fixture
def journal(tmp_path):
    j = Journal(tmp_path / "state.jsonl")
    yield j
    j.close()


async def test_the_intent_is_on_disk_before_the_create_and_the_id_after(journal, tmp_path):
    desk = FakeHelpdesk(journal.path)
    sender = ExactlyOnce(FakeClient(desk), journal, ImportSummary())  # type: ignore[arg-type]
    plan = make_plan(record(external_id="x1"))
    await sender.send(plan, {**plan.ticket, "message": {"body": "<p>x</p>"}}, [])
    assert desk.intents_on_disk_at_create == [True]
    assert journal.done == {"ext:x1": 1} and sender.all_done(plan)


async def test_a_lost_answer_is_looked_up_and_never_created_twice(journal):
    desk = FakeHelpdesk(journal.path, lose_answers=1)
    summary = ImportSummary()
    sender = ExactlyOnce(FakeClient(desk), journal, summary)  # type: ignore[arg-type]
    plan = make_plan(record(external_id="x1"))
    await sender.send(plan, {**plan.ticket, "message": {"body": "<p>x</p>"}}, [])
    assert desk.creates == ["Same subject"] and len(desk.tickets) == 1
    assert journal.done["ext:x1"] == 1 and summary.ambiguous_resolved == 1 and summary.created == 0


async def test_a_lost_create_that_the_server_never_made_is_sent_again(journal):
    desk = FakeHelpdesk(journal.path, lose_answers=1, commit_lost=False)
    sender = ExactlyOnce(FakeClient(desk), journal, ImportSummary())  # type: ignore[arg-type]
    plan = make_plan(record(external_id="x1"))
    await sender.send(plan, {**plan.ticket, "message": {"body": "<p>x</p>"}}, [])
    assert len(desk.creates) == 2 and len(desk.tickets) == 1 and journal.done["ext:x1"] == 1


async def test_identical_records_each_claim_their_own_ticket(journal):
    """Two records alike in subject, sender and time: a lookup never hands one ticket to both."""
    desk = FakeHelpdesk(journal.path, lose_answers=2)
    sender = ExactlyOnce(FakeClient(desk), journal, ImportSummary())  # type: ignore[arg-type]
    for key in ("a", "b"):
        plan = make_plan(record(external_id=key))
        await sender.send(plan, {**plan.ticket, "message": {"body": "<p>x</p>"}}, [])
    assert len(desk.tickets) == 2
    assert sorted(journal.done.values()) == [1, 2]  # distinct: each key its own ticket


async def test_a_rerun_after_a_crash_between_intent_and_answer_looks_up_first(tmp_path):
    path = tmp_path / "state.jsonl"
    first = Journal(path)
    desk = FakeHelpdesk(path)
    plan = make_plan(record(external_id="x1"))
    await first.intend(plan.key)
    await desk.create({**plan.ticket, "message": {}})  # the server made it; the answer died with the process
    first.close()
    again = Journal(path)
    sender = ExactlyOnce(FakeClient(desk), again, ImportSummary())  # type: ignore[arg-type]
    await sender.send(plan, {**plan.ticket, "message": {"body": "<p>x</p>"}}, [])
    again.close()
    assert len(desk.creates) == 1 and again.done["ext:x1"] == 1


async def test_follow_ups_are_sent_once_each_and_recorded(journal):
    desk = FakeHelpdesk(journal.path)
    sender = ExactlyOnce(FakeClient(desk), journal, ImportSummary())  # type: ignore[arg-type]
    plan = make_plan(record(external_id="x1", follow_ups=[{"body": "<p>1</p>"}, {"body": "<p>2</p>"}]))
    bodies = [{"body": "<p>1</p>"}, {"body": "<p>2</p>"}]
    await sender.send(plan, {**plan.ticket, "message": {"body": "<p>x</p>"}}, bodies)
    await sender.send(plan, {**plan.ticket, "message": {"body": "<p>x</p>"}}, bodies)  # a rerun
    assert [m["body"] for m in desk.messages_of[1]] == ["<p>1</p>", "<p>2</p>"]
    assert {"ext:x1#m1", "ext:x1#m2"} <= set(journal.done) and journal.parts["ext:x1"] == 2


async def test_the_same_id_for_two_different_creates_stops_before_anything_more_is_sent(journal):
    """A server that answers every create with ticket 1: the second record's follow-up must never go to
    the first record's ticket (it did, with exit 0)."""
    from pipelines.errors import RunStopped

    desk = FakeHelpdesk(journal.path)
    original = desk.create

    async def always_one(body):
        await original(body)
        return desk.tickets[1]

    desk.create = always_one  # type: ignore[method-assign]
    sender = ExactlyOnce(FakeClient(desk), journal, ImportSummary())  # type: ignore[arg-type]
    first, second = make_plan(record(external_id="a")), make_plan(record(external_id="b", subject="Other"))
    await sender.send(first, {**first.ticket, "message": {"body": "<p>a</p>"}}, [])
    with pytest.raises(RunStopped, match="already given"):
        await sender.send(second, {**second.ticket, "message": {"body": "<p>b</p>"}}, [{"body": "<p>private</p>"}])
    assert desk.messages_of == {}  # the private follow-up went nowhere
    assert journal.done == {"ext:a": 1}

"""`helpspace backup DIR` and `restore DIR`: a whole account moved between two embedded servers."""

from __future__ import annotations

import signal

import orjson
import pytest

from helpspace_async.testing import ServerThread
from pipelines import generations
from pipelines.generations import current
from pipelines.import_.records import exported_key
from pipelines.people.kinds import CUSTOMERS, ORGANIZATIONS
from tests.e2e.cli import run, start, wait_until


def restored_ids(folder) -> dict[str, int]:
    """The restore's journal: source ticket key -> new id."""
    [journal] = list((folder / "restore").glob("*/tickets.state.jsonl"))
    return {e["key"]: e["id"] for e in map(orjson.loads, journal.read_bytes().splitlines()) if "id" in e and "#" not in e["key"]}


def org_bodies(server) -> dict[str, tuple[dict, list[str]]]:
    shown = [server.people.organization(oid) for oid in server.people.organizations]
    return {o["name"]: (ORGANIZATIONS.body(o), sorted(t["name"] for t in o["tags"])) for o in shown}


def test_backup_and_restore_move_a_whole_account_exactly_once(tmp_path):
    folder = tmp_path / "backup"
    with ServerThread(tickets=80, seed=6) as source:
        done = run(["backup", str(folder)], source)
        assert done.returncode == 0, done.stderr.decode()
        first_generation = current(folder)
        again = run(["backup", str(folder)], source)  # a nightly refresh: unchanged tickets' messages are reused
        assert again.returncode == 0 and b"messages reused for 80" in again.stderr, again.stderr.decode()
        assert sorted(p.name for p in folder.iterdir()) == ["CURRENT", "generations"]
        assert len(generations.listing(folder)) == 2 and current(folder) != first_generation
        assert sorted(p.name for p in current(folder).iterdir()) == sorted(
            ["customers.jsonl.gz", "customers.jsonl.gz.manifest.json", "organizations.jsonl.gz",
             "organizations.jsonl.gz.manifest.json", "tags.jsonl.gz", "tickets.jsonl.gz",
             "tickets.jsonl.gz.manifest.json", "manifest.json"])  # nothing left behind by the reuse
        customers = {c["email"]: CUSTOMERS.body(c) for c in source.people.customers.values()}
        organizations = org_bodies(source)
        assert any(tags for _, tags in organizations.values())  # seeded organizations carry organization tags
        tickets = {tid: dict(source.store.tickets[tid]) for tid in source.store.live}
        tags = set(source.store.tags)
        messages = {tid: [m["body"] for m in source.store.messages_of(tid)] for tid in tickets}
    manifest = orjson.loads((current(folder) / "manifest.json").read_bytes())
    assert manifest["files"]["tickets"]["records"] == 80 and manifest["files"]["customers"]["records"] == len(customers)

    with ServerThread(tickets=0) as target:
        first = run(["restore", str(folder)], target)
        assert first.returncode == 0, first.stderr.decode()
        again = run(["restore", str(folder)], target)
        assert again.returncode == 0 and b"created 0" in again.stderr
        assert set(target.store.tags) >= tags
        assert {c["email"]: CUSTOMERS.body(c) for c in target.people.customers.values()} == customers
        assert org_bodies(target) == organizations  # fields and organization tags (by name; ids differ)
        mapping = {tid: restored_ids(folder)[exported_key(tid)] for tid in tickets}
        assert len(set(mapping.values())) == len(target.store.live) == 80
        for tid, old in tickets.items():
            new = target.store.tickets[mapping[tid]]
            assert (new["subject"], new["status"], sorted(new["tags"]), new["created_at"], new["from_contact"]["value"]) == \
                   (old["subject"], old["status"], sorted(old["tags"]), old["created_at"], old["from_contact"]["value"]), tid
            assert target.store.messages_of(new["id"])[0]["body"] == messages[tid][0]


def test_an_interrupted_restore_finishes_exactly_once_on_rerun(tmp_path):
    folder = tmp_path / "backup"
    with ServerThread(tickets=150, seed=7) as source:
        assert run(["backup", str(folder)], source).returncode == 0
    with ServerThread(tickets=0, latency_ms=15) as target:
        proc = start(["restore", str(folder), "--concurrency", "2"], target)
        wait_until(lambda: len(target.store.live) >= 20, what="restored tickets")
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        assert proc.returncode == 130 and len(target.store.live) < 150
        done = run(["restore", str(folder)], target)
        assert done.returncode == 0, done.stderr.decode()
        assert len(target.store.live) == 150  # 150 records, 150 tickets: none twice
        assert sorted(restored_ids(folder).values()) == sorted(target.store.live)


def test_a_tampered_backup_is_refused(tmp_path):
    folder = tmp_path / "backup"
    with ServerThread(tickets=10, seed=7) as source:
        assert run(["backup", str(folder)], source).returncode == 0
    (current(folder) / "customers.jsonl.gz").write_bytes(b"cut")
    with ServerThread(tickets=0) as target:
        done = run(["restore", str(folder)], target)
        assert done.returncode == 2 and b"does not match the backup's manifest" in done.stderr
        assert len(target.store.live) == 0


def test_a_killed_backup_refresh_leaves_the_previous_generation_restorable(tmp_path):
    """kill -9 in the middle of a refresh: the previous complete backup is current and restores whole."""
    folder = tmp_path / "backup"
    with ServerThread(tickets=60, seed=7) as source:
        assert run(["backup", str(folder)], source).returncode == 0
        good = current(folder)
        source.realism.latency_ms = 30
        proc = start(["backup", str(folder), "--full", "--concurrency", "1"], source)
        wait_until(lambda: any(p.name.endswith(".incomplete") and (p / "tags.jsonl.gz").exists()
                               for p in (folder / "generations").iterdir()), what="a generation being written")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert current(folder) == good
        source.realism.latency_ms = 0
        with ServerThread(tickets=0) as target:
            done = run(["restore", str(folder)], target)
            assert done.returncode == 0, done.stderr.decode()
            assert len(target.store.live) == 60
        again = run(["backup", str(folder), "--keep", "1"], source)  # the killed one is cleared, old ones pruned
        assert again.returncode == 0, again.stderr.decode()
        assert [p.name for p in (folder / "generations").iterdir()] == [current(folder).name] != [good.name]


def tampered(folder, how):
    gen = current(folder)
    manifest = orjson.loads((gen / "manifest.json").read_bytes())
    if how == "entry outside":
        (folder / "evil.jsonl.gz").write_bytes((gen / "tickets.jsonl.gz").read_bytes())
        manifest["files"]["tickets"]["file"] = "../../evil.jsonl.gz"
    elif how == "absolute entry":
        manifest["files"]["tickets"]["file"] = str(gen / "tickets.jsonl.gz")
    elif how == "no files":
        manifest["files"] = {}
    elif how == "symlink":
        target = tmp = gen / "tickets.jsonl.gz"
        real = gen.parent / "elsewhere.jsonl.gz"
        tmp.rename(real)
        target.symlink_to(real)
    elif how == "device":
        (gen / "tickets.jsonl.gz").unlink()
        (gen / "tickets.jsonl.gz").symlink_to("/dev/zero")
    elif how == "a file missing from the list":
        del manifest["files"]["customers"]
    (gen / "manifest.json").write_bytes(orjson.dumps(manifest))


@pytest.mark.parametrize("how", ["entry outside", "absolute entry", "no files", "symlink", "device",
                                 "a file missing from the list"])
def test_restore_trusts_nothing_in_its_folder(tmp_path, how):
    folder = tmp_path / "backup"
    with ServerThread(tickets=5, seed=7) as source:
        assert run(["backup", str(folder)], source).returncode == 0
    tampered(folder, how)
    with ServerThread(tickets=0) as target:
        done = run(["restore", str(folder)], target, timeout=30)
        assert done.returncode == 2, done.stderr.decode()
        assert len(target.store.live) == 0 and not target.people.customers and b"Traceback" not in done.stderr


def test_restore_into_a_non_empty_account_is_a_decision(tmp_path):
    """Restoring into the account the backup came from: refused by default (it would double every
    ticket); with --into-nonempty only what is missing is created, and the dry run says so first."""
    folder = tmp_path / "backup"
    thread = ServerThread(tickets=30, seed=7)
    with thread as account:
        assert run(["backup", str(folder)], account).returncode == 0
        gone = sorted(account.store.live)[:3]
        for tid in gone:
            thread.call(account.store.delete_ticket, tid)
        assert len(account.store.live) == 27
        refused = run(["restore", str(folder)], account)
        assert refused.returncode == 2 and b"--into-nonempty" in refused.stderr, refused.stderr.decode()
        assert len(account.store.live) == 27
        dry = run(["restore", str(folder), "--into-nonempty", "--dry-run"], account)
        assert dry.returncode == 0 and b"would create 3" in dry.stderr, dry.stderr.decode()
        done = run(["restore", str(folder), "--into-nonempty"], account)
        assert done.returncode == 0 and b"created 3" in done.stderr, done.stderr.decode()
        assert len(account.store.live) == 30
        subjects = [account.store.tickets[t]["subject"] for t in account.store.live]
        assert len(subjects) == 30
        again = run(["restore", str(folder)], account)  # a rerun continues its own journal: nothing more
        assert again.returncode == 0 and len(account.store.live) == 30, again.stderr.decode()


def test_tags_keep_their_color_and_nameless_tags_are_left_out_listed(tmp_path):
    folder = tmp_path / "backup"
    thread = ServerThread(tickets=5, seed=7)
    with thread as source:
        thread.call(source.store.add_tag, "crimson-vip", "ticket", "#ff0000")
        thread.call(source.store.tags.__setitem__, "", {"id": 999, "name": None, "type": "ticket", "color": None})
        done = run(["backup", str(folder)], source)
    assert done.returncode == 3 and b"a tag needs a name" in done.stderr, done.stderr.decode()
    assert orjson.loads((current(folder) / "manifest.json").read_bytes())["left_out"]
    with ServerThread(tickets=0) as target:
        restored = run(["restore", str(folder)], target)
        assert restored.returncode == 0, restored.stderr.decode()
        assert target.store.tags["crimson-vip"]["color"] == "#ff0000"


def test_journals_belong_to_one_account(tmp_path):
    """Two accounts on one host (the hosted API): each restore has its own journal, and an import's
    journal refuses another account instead of calling everything 'already done'."""
    folder = tmp_path / "backup"
    with ServerThread(tickets=8, seed=7) as source:
        assert run(["backup", str(folder)], source).returncode == 0
        assert run(["export", "tickets", "-o", str(tmp_path / "t.jsonl"), "--with-messages", "--attachments",
                    "embed"], source).returncode == 0
    with ServerThread(tickets=0, token="tok-a", client_id="client-a") as a:
        assert run(["restore", str(folder)], a).returncode == 0
        assert run(["import", "tickets", str(tmp_path / "t.jsonl")], a).returncode == 0
        port = a.port
    with ServerThread(tickets=0, token="tok-b", client_id="client-b", port=port) as b:  # same origin, other account
        restored = run(["restore", str(folder)], b)
        assert restored.returncode == 0 and len(b.store.live) == 8, restored.stderr.decode()
        imported = run(["import", "tickets", str(tmp_path / "t.jsonl")], b)
        assert imported.returncode == 2 and b"another account" in imported.stderr and b"--state" in imported.stderr
        assert len(b.store.live) == 8


@pytest.mark.parametrize("how", ["manifest vouches for another file", "symlinked generation"])
def test_restore_reads_only_the_files_the_manifest_vouches_for(tmp_path, how):
    folder = tmp_path / "backup"
    with ServerThread(tickets=5, seed=7) as source:
        assert run(["backup", str(folder)], source).returncode == 0
    gen = current(folder)
    if how == "manifest vouches for another file":
        manifest = orjson.loads((gen / "manifest.json").read_bytes())
        manifest["files"]["tickets"] = manifest["files"]["tags"]
        (gen / "manifest.json").write_bytes(orjson.dumps(manifest))
    else:
        elsewhere = tmp_path / "elsewhere"
        gen.rename(elsewhere)
        (folder / "generations" / gen.name).symlink_to(elsewhere)
    with ServerThread(tickets=0) as target:
        done = run(["restore", str(folder)], target)
        assert done.returncode == 2, done.stderr.decode()
        assert len(target.store.live) == 0

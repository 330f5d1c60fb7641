"""The run discipline, one scenario at a time, on every command that writes something.

Each command is a row of COMMANDS (its arguments, what it writes, how to check the result);
each scenario is one test parametrized over them, so a guarantee is proven on every command
or visibly not. The commands run as a user runs them: `python -m pipelines.cli` against the
embedded server over loopback.

Scenarios: a second run on the same target (refused, exit 2, naming the holder; the first
finishes and nothing is duplicated); Ctrl-C at observed progress (exit 130 within the grace
period, then a rerun completes with nothing lost or twice); the API refusing the credentials
(exit 3, one line, no token, no traceback); the server down (exit 3); an output that can't be
written (exit 2 before anything is sent).
"""

from __future__ import annotations

import gzip
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest

from helpspace_async.testing import ServerThread
from pipelines.generations import current, verify
from tests.conftest import SECRET
from tests.e2e.cli import cli_env, command, run, wait_until

SEEDED = 12  # tickets in the source account: small, so every scenario stays quick


def records(path: Path) -> list[dict]:
    """The records of a JSONL(.gz) file."""
    raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    return [orjson.loads(line) for line in raw.splitlines() if line.strip()]


@dataclass
class Inputs:
    """Files the import-side commands read, made once by the export-side commands."""

    folder: Path

    def copy_to(self, tmp: Path) -> Path:
        target = tmp / "inputs"
        shutil.copytree(self.folder, target)
        return target


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    folder = tmp_path_factory.mktemp("inputs")
    with ServerThread(tickets=SEEDED, seed=5) as source:
        for argv in (["export", "tickets", "-o", str(folder / "tickets.jsonl"), "--with-messages",
                      "--attachments", "embed"],
                     ["export", "customers", "-o", str(folder / "customers.jsonl")],
                     ["export", "organizations", "-o", str(folder / "organizations.jsonl")],
                     ["backup", str(folder / "backup")]):
            done = run(argv, source)
            assert done.returncode == 0, done.stderr.decode()
    for name in ("tickets.jsonl", "customers.jsonl", "organizations.jsonl"):
        (folder / f"{name}.manifest.json").unlink()
    return Inputs(folder)


@dataclass
class Command:
    """One command as the scenarios drive it."""

    name: str
    argv: Callable[[Path], list[str]]  # the command, given the test's folder (inputs copied into it)
    check: Callable[[Path, object], None]  # after a finished run (or a rerun): nothing lost, nothing twice
    empty_target: bool = False  # writes into the account: run against an empty one
    rerun: list[str] = field(default_factory=list)  # added to finish an interrupted run
    output_under: Callable[[Path, Path], list[str]] | None = None  # argv with its output under a given folder
    slow_ms: float = 150  # server latency that keeps a run going for seconds (dlt starts slowly)


def _ids_once(path: Path, expected: int) -> None:
    ids = [r["id"] for r in records(path)]
    assert len(ids) == len(set(ids)) == expected, (len(ids), len(set(ids)), expected)


def check_export(name: str, kind: str) -> Callable[[Path, object], None]:
    def check(tmp: Path, server: object) -> None:
        expected = {"tickets": SEEDED, "customers": len(server.people.customers),  # type: ignore[attr-defined]
                    "organizations": len(server.people.organizations)}[kind]  # type: ignore[attr-defined]
        _ids_once(tmp / name, expected)
    return check


def check_import(kind: str, source: str) -> Callable[[Path, object], None]:
    def check(tmp: Path, server: object) -> None:
        wanted = records(tmp / "inputs" / source)
        if kind == "tickets":
            got = sorted(server.store.tickets[t]["subject"] for t in server.store.live)  # type: ignore[attr-defined]
            assert got == sorted(r["subject"] for r in wanted)
        elif kind == "customers":
            got = sorted(c["email"] for c in server.people.customers.values())  # type: ignore[attr-defined]
            assert sorted(r["email"] for r in wanted) == [e for e in got if e in {r["email"] for r in wanted}]
            assert len(got) == len(set(got))
        else:
            got = sorted(o["name"] for o in server.people.organizations.values())  # type: ignore[attr-defined]
            assert len(got) == len(set(got)) and {r["name"] for r in wanted} <= set(got)
    return check


def check_backup(tmp: Path, server: object) -> None:
    generation = current(tmp / "backup")
    assert generation is not None
    manifest = verify(generation)
    assert manifest["files"]["tickets"]["records"] == SEEDED
    _ids_once(generation / "tickets.jsonl.gz", SEEDED)


def check_restore(tmp: Path, server: object) -> None:
    subjects = [server.store.tickets[t]["subject"] for t in server.store.live]  # type: ignore[attr-defined]
    assert len(subjects) == SEEDED, len(subjects)
    emails = [c["email"] for c in server.people.customers.values()]  # type: ignore[attr-defined]
    assert len(emails) == len(set(emails))


def check_nightly(tmp: Path, server: object) -> None:
    _ids_once(tmp / "nightly.jsonl.gz", SEEDED)


def check_load(tmp: Path, server: object) -> None:
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect(str(tmp / "helpspace.duckdb"), read_only=True)
    try:
        [(count, distinct)] = con.sql("select count(*), count(distinct id) from helpspace_dataset.tickets").fetchall()
    finally:
        con.close()
    assert count == distinct == SEEDED


COMMANDS = [
    Command("export tickets", lambda t: ["export", "tickets", "-o", str(t / "tickets.jsonl.gz"), "--with-messages"],
            check_export("tickets.jsonl.gz", "tickets"), rerun=["--resume"],
            output_under=lambda t, d: ["export", "tickets", "-o", str(d / "tickets.jsonl.gz")]),
    Command("export customers", lambda t: ["export", "customers", "-o", str(t / "customers.jsonl"), "--avatars"],
            check_export("customers.jsonl", "customers"), rerun=["--resume"],
            output_under=lambda t, d: ["export", "customers", "-o", str(d / "customers.jsonl")]),
    Command("export organizations", lambda t: ["export", "organizations", "-o", str(t / "organizations.jsonl")],
            check_export("organizations.jsonl", "organizations"), rerun=["--resume"],
            output_under=lambda t, d: ["export", "organizations", "-o", str(d / "organizations.jsonl")]),
    Command("nightly", lambda t: ["export", "tickets", "--since-last-run", str(t / "state.json"),
                                  "-o", str(t / "nightly.jsonl.gz"), "--with-messages"],
            check_nightly, rerun=["--resume"],
            output_under=lambda t, d: ["export", "tickets", "--since-last-run", str(d / "state.json"),
                                       "-o", str(t / "nightly.jsonl.gz")]),
    Command("import tickets", lambda t: ["import", "tickets", str(t / "inputs" / "tickets.jsonl")],
            check_import("tickets", "tickets.jsonl"), empty_target=True,
            output_under=lambda t, d: ["import", "tickets", str(t / "inputs" / "tickets.jsonl"),
                                       "--state", str(d / "state.jsonl")]),
    Command("import customers", lambda t: ["import", "customers", str(t / "inputs" / "customers.jsonl")],
            check_import("customers", "customers.jsonl"), empty_target=True,
            output_under=lambda t, d: ["import", "customers", str(t / "inputs" / "customers.jsonl"),
                                       "--state", str(d / "state.jsonl")]),
    Command("import organizations", lambda t: ["import", "organizations", str(t / "inputs" / "organizations.jsonl")],
            check_import("organizations", "organizations.jsonl"), empty_target=True,
            output_under=lambda t, d: ["import", "organizations", str(t / "inputs" / "organizations.jsonl"),
                                       "--state", str(d / "state.jsonl")]),
    Command("backup", lambda t: ["backup", str(t / "backup")], check_backup,
            output_under=lambda t, d: ["backup", str(d / "backup")]),
    Command("restore", lambda t: ["restore", str(t / "inputs" / "backup")], check_restore, empty_target=True),
    Command("load", lambda t: ["load", "--no-progress", "--with-messages"], check_load, slow_ms=400),
]
IDS = [c.name for c in COMMANDS]


def env_for(tmp: Path, server: object | None, **extra: str) -> dict[str, str]:
    return cli_env(server, DLT_DATA_DIR=str(tmp / "dlt-home"), XDG_CACHE_HOME=str(tmp / "cache"), **extra)  # type: ignore[arg-type]


def account(cmd: Command) -> ServerThread:
    return ServerThread(tickets=0 if cmd.empty_target else SEEDED, seed=5)


def started_slowly(cmd: Command, tmp: Path, server: object, *, latency_ms: float, requests: int,
                   still_running: bool = True) -> subprocess.Popen:
    """The command running one request at a time against a slow server, once it has made `requests`
    (and, with `still_running`, asserted not to have finished: the scenario must hit it mid-way)."""
    server.realism.latency_ms = latency_ms  # type: ignore[attr-defined]
    proc = subprocess.Popen(command() + cmd.argv(tmp) + ["--concurrency", "1"], env=env_for(tmp, server), cwd=tmp,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until(lambda: server.realism.stats["requests"] >= requests or proc.poll() is not None,  # type: ignore[attr-defined]
               what="progress")
    if still_running:
        assert proc.poll() is None, proc.communicate()[1].decode()
    return proc


def no_traceback(stderr: bytes) -> None:
    assert b"Traceback" not in stderr, stderr.decode()


@pytest.mark.parametrize("cmd", COMMANDS, ids=IDS)
def test_a_second_run_on_the_same_target_is_refused_and_nothing_is_duplicated(cmd, inputs, tmp_path):
    inputs.copy_to(tmp_path)
    with account(cmd) as server:
        env = env_for(tmp_path, server)
        server.realism.latency_ms = cmd.slow_ms  # the first run holds its target for seconds
        first = subprocess.Popen(command() + cmd.argv(tmp_path) + ["--concurrency", "1"], env=env, cwd=tmp_path,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_until(lambda: server.realism.stats["requests"] >= 2 or first.poll() is not None, what="first run")
            assert first.poll() is None, first.communicate()[1].decode()
            second = run(cmd.argv(tmp_path), server, env=env, cwd=tmp_path)
            still_running = first.poll() is None
        finally:
            server.realism.latency_ms = 0
            out, err = first.communicate(timeout=120)
        assert still_running, "the first run ended before the second was refused: the scenario proved nothing"
        assert second.returncode == 2, second.stderr.decode()
        assert b"in use by another run" in second.stderr and f"pid {first.pid}".encode() in second.stderr
        no_traceback(second.stderr)
        assert first.returncode == 0, err.decode()
        cmd.check(tmp_path, server)


@pytest.mark.parametrize("cmd", COMMANDS, ids=IDS)
def test_ctrl_c_stops_within_the_grace_period_and_a_rerun_completes(cmd, inputs, tmp_path):
    inputs.copy_to(tmp_path)
    with account(cmd) as server:
        env = env_for(tmp_path, server)
        proc = started_slowly(cmd, tmp_path, server, latency_ms=100, requests=4)
        proc.send_signal(signal.SIGINT)
        signalled = time.monotonic()
        _, err = proc.communicate(timeout=30)
        stopped_in = time.monotonic() - signalled
        server.realism.latency_ms = 0
        assert proc.returncode == 130, err.decode()
        assert stopped_in < 3.0, stopped_in
        assert b"interrupted" in err
        no_traceback(err)
        again = run(cmd.argv(tmp_path) + cmd.rerun, server, env=env, cwd=tmp_path)
        assert again.returncode == 0, again.stderr.decode()
        cmd.check(tmp_path, server)


@pytest.mark.parametrize("cmd", COMMANDS, ids=IDS)
def test_ctrl_c_during_a_rate_limit_pause_stops_within_the_grace_period(cmd, inputs, tmp_path):
    inputs.copy_to(tmp_path)
    with account(cmd) as server:
        server.realism.rate_limit, server.realism.rate_window = 3, 60.0  # three requests, then a minute's pause
        proc = subprocess.Popen(command() + cmd.argv(tmp_path), env=env_for(tmp_path, server), cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_until(lambda: server.realism.stats["429"] >= 1 or proc.poll() is not None, what="a 429")
        time.sleep(0.3)  # the workers are now waiting in the limiter
        assert proc.poll() is None, proc.communicate()[1].decode()
        proc.send_signal(signal.SIGINT)
        signalled = time.monotonic()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err.decode()
    assert time.monotonic() - signalled < 3.0
    no_traceback(err)


@pytest.mark.parametrize("cmd", COMMANDS, ids=IDS)
def test_refused_credentials_end_in_one_line_and_exit_3(cmd, inputs, tmp_path):
    inputs.copy_to(tmp_path)
    with account(cmd) as server:
        env = env_for(tmp_path, server, HELPSPACE_TOKEN=SECRET)
        done = run(cmd.argv(tmp_path), server, env=env, cwd=tmp_path)
    assert done.returncode == 3, done.stderr.decode()
    assert b"refused" in done.stderr
    assert SECRET.lower().encode() not in (done.stderr + done.stdout).lower()
    no_traceback(done.stderr)


@pytest.mark.parametrize("cmd", COMMANDS, ids=IDS)
def test_a_server_that_is_down_ends_in_one_line_and_exit_3(cmd, inputs, tmp_path):
    import socket

    inputs.copy_to(tmp_path)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = env_for(tmp_path, None, HELPSPACE_BASE_URL=f"http://127.0.0.1:{port}", HELPSPACE_TOKEN="t",
                  HELPSPACE_CLIENT_ID="c")
    done = run(cmd.argv(tmp_path) + ["--retries", "1"], None, env=env, cwd=tmp_path)
    assert done.returncode == 3, done.stderr.decode()
    assert b"cannot connect" in done.stderr
    no_traceback(done.stderr)


WRITERS = [c for c in COMMANDS if c.output_under is not None]


@pytest.mark.parametrize("cmd", WRITERS, ids=[c.name for c in WRITERS])
def test_an_output_that_cannot_be_written_is_refused_before_anything_is_sent(cmd, inputs, tmp_path):
    inputs.copy_to(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert cmd.output_under is not None
    with account(cmd) as server:
        done = run(cmd.output_under(tmp_path, blocker / "sub"), server, env=env_for(tmp_path, server), cwd=tmp_path)
        sent = server.realism.stats["requests"]
    assert done.returncode == 2, done.stderr.decode()
    assert str(blocker).encode() in done.stderr
    assert sent == 0
    no_traceback(done.stderr)


def test_wait_lock_waits_for_the_holder_then_runs(inputs, tmp_path):
    from pipelines import locks

    output = tmp_path / "t.jsonl"
    with ServerThread(tickets=SEEDED, seed=5) as server:
        proc = subprocess.Popen(command() + ["export", "tickets", "-o", str(output), "--wait-lock", "30"],
                                env=env_for(tmp_path, server), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        with locks.hold(locks.sidecar(output), "test"):
            time.sleep(1.0)
            assert proc.poll() is None and server.realism.stats["requests"] == 0  # waiting, not working
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    _ids_once(output, SEEDED)


# --- resuming: only the same run, on the same account, into the same untouched .part -------------

RESUMABLE = {
    "export tickets": (lambda t: ["export", "tickets", "-o", str(t / "out.jsonl"), "--per-page", "5"], "out.jsonl"),
    "export customers": (lambda t: ["export", "customers", "-o", str(t / "out.jsonl"), "--avatars"], "out.jsonl"),
    "nightly": (lambda t: ["export", "tickets", "--since-last-run", str(t / "state.json"), "-o", str(t / "out.jsonl"),
                           "--per-page", "5"], "out.jsonl"),
}
BIG = 120  # tickets (and ~120 customers): several pages, so there is a checkpoint to interrupt at


def interrupted(argv: list[str], tmp: Path, server: object) -> Path:
    """Run until a checkpoint is on disk, then Ctrl-C; the checkpoint's path."""
    checkpoint = tmp / "out.jsonl.checkpoint.json"
    server.realism.latency_ms = 40  # type: ignore[attr-defined]
    proc = subprocess.Popen(command() + argv + ["--concurrency", "1"], env=env_for(tmp, server), cwd=tmp,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until(lambda: checkpoint.exists() or proc.poll() is not None, what="a checkpoint")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    server.realism.latency_ms = 0  # type: ignore[attr-defined]
    assert proc.returncode == 130 and checkpoint.exists(), err.decode()
    return checkpoint


def tamper(checkpoint: Path, how: str) -> None:
    data = orjson.loads(checkpoint.read_bytes())
    if how == "garbage":
        checkpoint.write_bytes(b"{not json")
    elif how == "huge offset":
        data["offset"] = 10_000_000
        checkpoint.write_bytes(orjson.dumps(data))
    elif how == "negative page":
        if "position" in data:
            data["position"]["page"] = -3
        else:
            data["page"] = -3
        checkpoint.write_bytes(orjson.dumps(data))
    elif how == "part deleted":
        (checkpoint.parent / "out.jsonl.part").unlink()
    elif how == "part edited":
        part = checkpoint.parent / "out.jsonl.part"
        part.write_bytes(part.read_bytes().replace(b'"id":', b'"id" :', 1))


@pytest.mark.parametrize("name", list(RESUMABLE))
@pytest.mark.parametrize("how", ["garbage", "huge offset", "negative page", "part deleted", "part edited", "other account"])
def test_resume_refuses_what_it_cannot_trust(name, how, tmp_path):
    argv, _ = RESUMABLE[name]
    with ServerThread(tickets=BIG, seed=5) as server:
        checkpoint = interrupted(argv(tmp_path), tmp_path, server)
        part = tmp_path / "out.jsonl.part"
        if how == "other account":
            with ServerThread(tickets=BIG, seed=9, token="other-token", client_id="other-client") as other:
                done = run(argv(tmp_path) + ["--resume"], other, env=env_for(tmp_path, other), cwd=tmp_path)
                sent = other.realism.stats["requests"]
            assert b"belongs to another run" in done.stderr and sent == 0, done.stderr.decode()
        else:
            tamper(checkpoint, how)
            size = part.stat().st_size if part.exists() else None
            done = run(argv(tmp_path) + ["--resume"], server, env=env_for(tmp_path, server), cwd=tmp_path)
            if size is not None and how != "part deleted":
                assert part.stat().st_size == size  # never padded, never appended to
        assert done.returncode == 2, done.stderr.decode()
        assert b"--restart" in done.stderr
        no_traceback(done.stderr)
        assert not (tmp_path / "out.jsonl").exists()
        again = run(argv(tmp_path) + ["--restart"], server, env=env_for(tmp_path, server), cwd=tmp_path)
        assert again.returncode == 0, again.stderr.decode()
        expected = BIG if "tickets" in argv(tmp_path) else len(server.people.customers)
        _ids_once(tmp_path / "out.jsonl", expected)


@pytest.mark.parametrize("name", list(RESUMABLE))
def test_a_waiting_checkpoint_is_never_silently_dropped(name, tmp_path):
    argv, _ = RESUMABLE[name]
    with ServerThread(tickets=BIG, seed=5) as server:
        interrupted(argv(tmp_path), tmp_path, server)
        plain = run(argv(tmp_path), server, env=env_for(tmp_path, server), cwd=tmp_path)
        assert plain.returncode == 2 and b"--resume" in plain.stderr and b"--restart" in plain.stderr, plain.stderr
        resumed = run(argv(tmp_path) + ["--resume"], server, env=env_for(tmp_path, server), cwd=tmp_path)
        assert resumed.returncode == 0, resumed.stderr.decode()
        expected = BIG if "tickets" in argv(tmp_path) else len(server.people.customers)
        _ids_once(tmp_path / "out.jsonl", expected)


def _file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


WRITE_ERRORS = [c for c in COMMANDS if c.name in ("export tickets", "export customers", "nightly", "backup",
                                                   "import tickets")]


@pytest.mark.parametrize("cmd", WRITE_ERRORS, ids=[c.name for c in WRITE_ERRORS])
def test_a_write_error_stops_the_run_and_a_rerun_completes(cmd, inputs, tmp_path):
    """The disk refuses a write (here: a file size limit, as a full disk would): exit 3 naming the OS
    error, no traceback, nothing unwritten recorded; the rerun finishes with nothing lost or twice."""
    inputs.copy_to(tmp_path)
    with account(cmd) as server:
        env = env_for(tmp_path, server)
        failed = subprocess.run(command() + cmd.argv(tmp_path), env=env, cwd=tmp_path, capture_output=True,
                                timeout=120, preexec_fn=_file_size_limit(512))
        assert failed.returncode == 3, failed.stderr.decode()
        assert b"File too large" in failed.stderr
        no_traceback(failed.stderr)
        again = run(cmd.argv(tmp_path) + cmd.rerun, server, env=env, cwd=tmp_path)
        assert again.returncode == 0, again.stderr.decode()
        cmd.check(tmp_path, server)


def test_an_output_named_like_a_lock_file_is_refused(tmp_path):
    with ServerThread(tickets=SEEDED, seed=5) as server:
        done = run(["export", "tickets", "-o", str(tmp_path / "t.jsonl.lock"), "--format", "jsonl"], server,
                   env=env_for(tmp_path, server))
        assert done.returncode == 2 and b".lock" in done.stderr and server.realism.stats["requests"] == 0


@pytest.mark.parametrize("cmd", COMMANDS, ids=IDS)
def test_kill_9_at_observed_progress_then_a_rerun_completes(cmd, inputs, tmp_path):
    """No chance to save anything: what was durable before the kill is enough, and the lock is gone."""
    inputs.copy_to(tmp_path)
    with account(cmd) as server:
        env = env_for(tmp_path, server)
        proc = started_slowly(cmd, tmp_path, server, latency_ms=60, requests=3, still_running=False)
        proc.kill()
        proc.communicate(timeout=30)
        server.realism.latency_ms = 0
        again = run(cmd.argv(tmp_path) + cmd.rerun, server, env=env, cwd=tmp_path)
        assert again.returncode == 0, again.stderr.decode()
        cmd.check(tmp_path, server)


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`helpspace export tickets -o - | head -1`: the reader goes away; no traceback, exit 141."""
    with ServerThread(tickets=200, seed=5) as server:
        proc = subprocess.Popen(command() + ["export", "tickets", "-o", "-", "--with-messages"],
                                env=env_for(tmp_path, server), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None
        proc.stdout.readline()
        proc.stdout.close()  # as `head -1` does
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 141, err.decode()
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err.decode()

"""`python -m bench [--quick]`: where we stand against the alternatives and the API's bound.

Everything runs on loopback against the embedded server (in its own process), and the
figures that are compared are measured in the same run, so the ratios hold on a noisy
machine. Prints a table and writes bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import json
import os
import platform
import pstats
import re
import subprocess
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bench.baselines import dlt_export, sequential_export, sequential_import
from bench.serverproc import child_env, server

ROOT = Path(__file__).resolve().parent
SIZES = {
    "full": {"load": 50_000, "snapshot": 20_000, "export": 100_000, "latency": 40_000, "rl_export": 30_000, "rl_import": 900,
             "rounding": [(50, 1, "laravel", 30_000), (50, 1, "up", 30_000), (50, 1, "down", 30_000),
                          (120, 2, "up", 60_000), (120, 2, "down", 60_000)], "mem": (20_000, 200_000), "import": 2_000, "profile": 20_000, "zendesk": 10_000},
    "quick": {"load": 10_000, "snapshot": 5_000, "export": 20_000, "latency": 16_000, "rl_export": 24_000, "rl_import": 480,
              "rounding": [(50, 1, "up", 15_000), (50, 1, "down", 15_000), (120, 2, "up", 24_000)], "mem": (20_000, 60_000), "import": 500, "profile": 5_000, "zendesk": 2_000},
}


def cli(args: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[dict, str]:
    env = {**env, "PYTHONPATH": str(ROOT.parent)} if cwd else env  # run from elsewhere: keep this tree importable
    done = subprocess.run([sys.executable, "-m", "bench.child", *args], env=child_env(env), capture_output=True, text=True,
                          timeout=1800, cwd=cwd)
    if done.returncode != 0 and not done.stdout.strip():
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr



def records(n: int, tag: str) -> list[dict]:
    return [{"external_id": f"{tag}-{i}", "subject": f"Bench {tag} {i}", "channel": {"id": 1},
             "from_contact": {"email": f"b{i}@example.com"}, "message": {"body": f"<p>ticket {i}</p>"}} for i in range(n)]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def bench_export(n: int, tmp: Path, rows: list) -> None:
    with server(tickets=n, seed=1) as env:
        jsonl, _ = cli(["export", "tickets", "-o", str(tmp / "ours.jsonl"), "--no-progress"], env)
        csvr, _ = cli(["export", "tickets", "-o", str(tmp / "ours.csv"), "--no-progress"], env)
        parquet, _ = cli(["export", "tickets", "-o", str(tmp / "ours.parquet"), "--no-progress"], env)
        _, seq_time = sequential_export(env, tmp / "seq.jsonl")
        dlt = dlt_export(env, tmp / "dlt")
    seq_rate = n / seq_time
    rows.append(("export, loopback", f"{n:,} tickets, per-page 50", "sequential requests loop", f"{seq_rate:,.0f} t/s", ""))
    for name, r in (("ours JSONL", jsonl), ("ours CSV", csvr)):
        rate = n / r["elapsed"]
        rows.append(("export, loopback", name, f"{rate:,.0f} t/s", f"{rate / seq_rate:.1f}× sequential", "target ≥3×"))
    jsonl_rate, parquet_rate = n / jsonl["elapsed"], n / parquet["elapsed"]
    rows.append(("export, loopback", "ours Parquet (zstd)", f"{parquet_rate:,.0f} t/s",
                 f"{parquet_rate / jsonl_rate:.0%} of our JSONL speed", "target ≥80%"))
    if dlt:
        dlt_rate = dlt[0] / dlt[1] if dlt[0] else n / dlt[1]
        rate = n / jsonl["elapsed"]
        rows.append(("export, loopback", "dlt rest_api → JSONL", f"{dlt_rate:,.0f} t/s ({dlt[0]:,} rows)", f"ours JSONL {rate / dlt_rate:.1f}× dlt", "target ≥5×"))
    else:
        rows.append(("export, loopback", "dlt rest_api", "not installed", "pip install -e '.[bench]'", ""))


def bench_latency(n: int, tmp: Path, rows: list) -> None:
    concurrency, per_page, latency = 8, 50, 0.050
    with server(tickets=n, latency=latency * 1000) as env:
        r, _ = cli(["export", "tickets", "-o", str(tmp / "lat.jsonl"), "--no-progress", "--concurrency", str(concurrency)], env)
    bound = concurrency * per_page / latency
    rate = n / r["elapsed"]
    rows.append(("export, 50 ms latency", f"{n:,} tickets, concurrency {concurrency}", f"{rate:,.0f} t/s",
                 f"{rate / bound:.0%} of {bound:,.0f} t/s bound", "target ≥90%"))


def bench_rate_limit(n_export: int, n_import: int, tmp: Path, rows: list) -> None:
    limit, window = 120, 2
    with server(tickets=n_export, rate_limit=limit, rate_window=window) as env:
        r, err = cli(["export", "tickets", "-o", str(tmp / "rl.jsonl"), "--no-progress"], env)
        stats = server_stats(env)
    rows.append(("export, rate limit 120/2 s", f"{n_export:,} tickets, {stats['windows']} windows",
                 f"{n_export / r['elapsed']:,.0f} t/s (bound {limit * 50 / window:,.0f})", *rate_figures(stats), "≥95%, <1%"))
    src = write_jsonl(tmp / "rl_import.jsonl", records(n_import, "rl"))
    with server(tickets=0, rate_limit=limit, rate_window=window) as env:
        r, err = cli(["import", "tickets", str(src), "--no-progress"], env)
        stats = server_stats(env)
    rows.append(("import, rate limit 120/2 s", f"{n_import:,} creates, {stats['windows']} windows",
                 f"{n_import / r['elapsed']:,.1f} creates/s (bound {limit / window:.0f})", *rate_figures(stats), "≥95%, <1%"))


def bench_rounding(cases: list[tuple[int, float, str, int]], tmp: Path, rows: list) -> None:
    """The limiter against windows that start at the first hit and headers rounded to whole seconds."""
    for limit, window, rounding, n in cases:
        with server(tickets=n, rate_limit=limit, rate_window=window, rate_rounding=rounding) as env:
            r, _ = cli(["export", "tickets", "-o", str(tmp / "rr.jsonl"), "--no-progress"], env)
            stats = server_stats(env)
        bound = limit * 50 / window
        rows.append((f"export, {limit}/{window:g} s, headers {rounding}", f"{n:,} tickets, {stats['windows']} windows",
                     f"{n / r['elapsed']:,.0f} t/s ({n / r['elapsed'] / bound:.0%} of {bound:,.0f})", *rate_figures(stats),
                     "≥85%, ≤2%" if window == 1 else "≥95%"))


def bench_load(n: int, tmp: Path, rows: list) -> None:
    """`helpspace load` (dlt into DuckDB) against our JSONL export, on the same server."""
    try:
        import dlt  # noqa: F401
        import duckdb  # noqa: F401
    except ImportError:
        rows.append(("load into DuckDB (dlt)", "not installed", "pip install -e '.[dlt]'", "", ""))
        return
    with server(tickets=n, seed=1) as env:
        jsonl, _ = cli(["export", "tickets", "-o", str(tmp / "load.jsonl"), "--no-progress"], env)
        loaded, _ = cli(["load", "--no-progress", "--pipeline-name", "bench"],
                        {**env, "DLT_DATA_DIR": str(tmp / "dlt-home")}, cwd=tmp)
    rows.append(("load into DuckDB (dlt)", f"{n:,} tickets, merge on id", f"{n / loaded['elapsed']:,.0f} t/s, "
                 f"{loaded['peak_rss_mb']:.0f} MB peak", f"JSONL export {n / jsonl['elapsed']:,.0f} t/s, "
                 f"{jsonl['peak_rss_mb']:.0f} MB peak ({jsonl['elapsed'] / loaded['elapsed']:.0%} of its speed)", ""))


def bench_snapshot(n: int, tmp: Path, rows: list) -> None:
    """A nightly snapshot with --reuse after 1% of tickets changed, against a plain --with-messages export."""
    import requests

    with server(tickets=n, seed=1) as env:
        headers = {"Authorization": f"Bearer {env['HELPSPACE_TOKEN']}", "Hs-Client-Id": env["HELPSPACE_CLIENT_ID"]}
        base = env["HELPSPACE_BASE_URL"] + "/api/v1/tickets"
        first = server_stats(env)["requests"]
        plain, _ = cli(["export", "tickets", "-o", str(tmp / "s1.jsonl.gz"), "--with-messages", "--no-progress"], env)
        between = server_stats(env)["requests"]
        changed = max(1, n // 100)
        for tid in range(1, n + 1, n // changed):  # replies to 1% of tickets, spread over the listing
            requests.post(f"{base}/{tid}/messages", json={"body": "<p>a reply</p>"}, headers=headers, timeout=10)
        time.sleep(1.1)  # the day goes on (updated_at is whole seconds)
        before = server_stats(env)["requests"]
        reused, _ = cli(["export", "tickets", "-o", str(tmp / "s2.jsonl.gz"), "--with-messages", "--no-progress",
                         "--reuse", str(tmp / "s1.jsonl.gz")], env)
        after = server_stats(env)["requests"]
    plain_requests, reuse_requests = between - first - 1, after - before - 1  # minus our stats calls
    bound = -(-n // 50) + changed
    rows.append(("nightly snapshot, --with-messages", f"{n:,} tickets, {changed:,} changed (1%)",
                 f"--reuse: {reuse_requests:,} requests in {reused['elapsed']:.1f} s; plain: {plain_requests:,} in "
                 f"{plain['elapsed']:.1f} s", f"{plain_requests / reuse_requests:.0f}× fewer requests",
                 f"≤ {bound:,} + a few"))


def server_stats(env: dict[str, str]) -> dict:
    import requests

    headers = {"Authorization": f"Bearer {env['HELPSPACE_TOKEN']}", "Hs-Client-Id": env["HELPSPACE_CLIENT_ID"]}
    return requests.get(env["HELPSPACE_BASE_URL"] + "/_helpspace/stats", headers=headers, timeout=10).json()


def rate_figures(stats: dict) -> tuple[str]:
    """Budget used over the full windows (the server counts them), and the share of 429s."""
    share = stats["429"] / max(stats["requests"], 1)
    return (f"{stats['window_efficiency']:.1%} of each window's budget used; "
            f"{stats['429']}/{stats['requests']} answered 429 ({share:.2%})",)


def bench_memory(sizes: tuple[int, int], tmp: Path, rows: list) -> None:
    peaks: dict[str, list[float]] = {"jsonl.gz": [], "parquet": []}
    for n in sizes:
        with server(tickets=n, seed=2) as env:
            for suffix in peaks:
                r, _ = cli(["export", "tickets", "-o", str(tmp / f"mem{n}.{suffix}"), "--no-progress"], env)
                peaks[suffix].append(r["peak_rss_mb"])
    for suffix, (small, large) in peaks.items():
        rows.append((f"memory, export .{suffix}", f"{sizes[0]:,} vs {sizes[1]:,} tickets",
                     f"{small:.1f} MB vs {large:.1f} MB peak RSS", f"growth {large - small:.1f} MB", "target <30 MB"))
    big = base64.b64encode(os.urandom(int(4.8 * 1024 * 1024))).decode()
    src = write_jsonl(tmp / "big.jsonl", [dict(r, message={"body": "<p>big</p>", "attachments": [{"name": "big.bin", "data": big}]})
                                          for r in records(8, "big")])
    with server(tickets=0) as env:
        r, _ = cli(["import", "tickets", str(src), "--no-progress"], env)
    rows.append(("memory, import", "8 records × 4.8 MB attachment", f"{r['peak_rss_mb']:.0f} MB peak RSS", f"{r['elapsed']:.1f} s", ""))


def bench_import(n: int, tmp: Path, rows: list) -> None:
    src = write_jsonl(tmp / "imp.jsonl", records(n, "imp"))
    with server(tickets=0) as env:
        ours, _ = cli(["import", "tickets", str(src), "--no-progress"], env)
    with server(tickets=0) as env:
        _, seq_time = sequential_import(env, records(n, "seq"))
    seq_rate, rate = n / seq_time, n / ours["elapsed"]
    rows.append(("import, loopback", f"{n:,} creates", f"{rate:,.0f} creates/s",
                 f"{rate / seq_rate:.1f}× sequential ({seq_rate:,.0f}/s)", "target ≥3×"))


def zendesk_tickets(n: int, host: str) -> list[dict]:
    """Zendesk JSON-export lines: a first comment with an attachment, a private note, a public reply."""
    out = []
    for i in range(n):
        stamp = f"2020-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00Z"
        out.append({"id": 50_000 + i, "subject": f"Zendesk ticket {i}", "status": ["open", "pending", "solved", "hold"][i % 4],
                    "priority": "normal", "tags": ["migrated", f"batch-{i % 10}"], "created_at": stamp,
                    "requester": {"name": f"Customer {i}", "email": f"c{i}@customer.example"},
                    "comments": [
                        {"id": 1, "public": True, "created_at": stamp, "html_body": f"<p>Problem {i} " + "text " * 200 + "</p>",
                         "attachments": [{"file_name": "invoice.pdf", "content_type": "application/pdf",
                                          "content_url": f"{host}/attachments/token/{i}/?name=invoice.pdf"}]},
                        {"id": 2, "public": False, "created_at": stamp, "html_body": "<p>note</p>"},
                        {"id": 3, "public": True, "created_at": stamp, "html_body": "<p>We fixed it.</p>"}]})
    return out


def bench_zendesk(n: int, tmp: Path, rows: list) -> None:
    from bench.filehost import FileHost

    limit, window = 120, 2
    with FileHost() as host:
        src = write_jsonl(tmp / "zendesk.jsonl", zendesk_tickets(n, host))
        r, err = cli(["import", "tickets", str(src), "--dry-run", "--no-progress"], {})
    m = re.search(r"([\d,]+) requests would be sent", err)
    requests_needed = int(m.group(1).replace(",", "")) if m else 2 * n
    bound = requests_needed / (limit / window)
    rows.append(("migration, Zendesk-shaped", f"{n:,} tickets, 3 comments and a 20 kB attachment each",
                 f"read+map+download+encode {r['elapsed']:.1f} s ({n / r['elapsed']:,.0f} tickets/s)",
                 f"{r['elapsed'] / bound:.1%} of the {bound:,.0f} s that {requests_needed:,} requests take at 120/2 s",
                 "target <10%"))


def bench_profile(n: int, tmp: Path) -> str:
    import asyncio

    from helpspace_async import HelpSpaceClient
    from pipelines.export import Exporter, ExportOptions

    with server(tickets=n) as env:
        async def go() -> None:
            async with HelpSpaceClient(env["HELPSPACE_BASE_URL"], env["HELPSPACE_TOKEN"], env["HELPSPACE_CLIENT_ID"]) as hs:
                await Exporter(hs, ExportOptions(output=str(tmp / "prof.jsonl"), progress=False)).run()

        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(go())
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if "ncalls" in ln)
    return "\n".join(lines[start:start + 13])


def versions() -> str:
    def v(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "absent"

    return (f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}; "
            f"aiohttp {v('aiohttp')}, orjson {v('orjson')}, tenacity {v('tenacity')}, requests {v('requests')}, dlt {v('dlt')}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under a minute")
    parser.add_argument("--no-write", action="store_true", help="don't rewrite bench/RESULTS.md")
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    size = SIZES[mode]
    rows: list[tuple[str, ...]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for step in (
            lambda: bench_export(size["export"], tmp, rows),
            lambda: bench_latency(size["latency"], tmp, rows),
            lambda: bench_rate_limit(size["rl_export"], size["rl_import"], tmp, rows),
            lambda: bench_rounding(size["rounding"], tmp, rows),
            lambda: bench_snapshot(size["snapshot"], tmp, rows),
            lambda: bench_load(size["load"], tmp, rows),
            lambda: bench_memory(size["mem"], tmp, rows),
            lambda: bench_import(size["import"], tmp, rows),
            lambda: bench_zendesk(size["zendesk"], tmp, rows),
        ):
            step()
            print(" | ".join(rows[-1]), flush=True)
        profile = bench_profile(size["profile"], tmp)
    total = time.perf_counter() - started
    table = ["| scenario | setup | measured | ratio | target |", "|---|---|---|---|---|"]
    table += ["| " + " | ".join(r) + " |" for r in rows]
    text = "\n".join(table)
    print(text)
    print(profile)
    print(f"{mode} run: {total:.0f} s; {versions()}")
    if not args.no_write:
        write_results(mode, text, profile, total)


def write_results(mode: str, table: str, profile: str, total: float) -> None:
    path = ROOT / "RESULTS.md"
    old = path.read_text() if path.exists() else ""
    notes = old.split("<!-- notes -->", 1)[1] if "<!-- notes -->" in old else "\n"
    path.write_text(
        f"# Benchmark results\n\n`python -m bench{' --quick' if mode == 'quick' else ''}` on "
        f"{time.strftime('%Y-%m-%d')}, {total:.0f} s. {versions()}.\n\n"
        "Loopback against the embedded server in its own process; ratios are measured in the same run.\n\n"
        f"{table}\n\n## Where the export's time goes (cProfile, tottime, top 12)\n\n```\n{profile}\n```\n\n<!-- notes -->{notes}"
    )


if __name__ == "__main__":
    main()

"""`helpspace serve`: prints lines a shell can eval, serves the API, stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request

from tests.e2e.cli import cli_env, command


def test_serve_prints_settings_serves_and_stops_on_ctrl_c(tmp_path):
    proc = subprocess.Popen(command() + ["serve", "--tickets", "30", "--port", "0", "--db", str(tmp_path / "s.sqlite")],
                            env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        env = {}
        deadline = time.monotonic() + 30
        while len(env) < 3 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line.startswith("export HELPSPACE_"), line
            key, _, value = line.removeprefix("export ").strip().partition("=")
            env[key] = value
        assert env["HELPSPACE_BASE_URL"].startswith("http://127.0.0.1:")
        request = urllib.request.Request(env["HELPSPACE_BASE_URL"] + "/api/v1/tickets?per-page=5", headers={
            "Authorization": f"Bearer {env['HELPSPACE_TOKEN']}", "Hs-Client-Id": env["HELPSPACE_CLIENT_ID"]})
        with urllib.request.urlopen(request, timeout=10) as resp:
            page = json.loads(resp.read())
        assert page["meta"]["total"] == 30 and len(page["data"]) == 5
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=15)
    assert code == 0
    assert (tmp_path / "s.sqlite").exists()


def test_the_helpspace_script_is_installed_and_answers_help():
    import shutil

    exe = shutil.which("helpspace")
    assert exe, "pip install -e . should put `helpspace` on PATH"
    done = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "serve" in done.stdout and "Exit codes" in done.stdout

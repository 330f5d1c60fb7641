"""Run the real command in a subprocess, as a user would.

The subprocess runs `python -m pipelines.cli` (the same `main` as the `helpspace`
script) with this tree first on its path, so the tests always exercise the code they
sit beside, even when an editable install points at another checkout.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from helpspace_async.testing import HelpSpaceServer

ROOT = Path(__file__).resolve().parents[2]


def command() -> list[str]:
    return [sys.executable, "-m", "pipelines.cli"]


def cli_env(server: HelpSpaceServer | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPSPACE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if server is not None:
        env.update(server.env)
    env.update(extra)
    return env


def run(args: list[str], server: HelpSpaceServer | None = None, *, timeout: float = 120, **kw: Any) -> subprocess.CompletedProcess:
    env = kw.pop("env", None) or cli_env(server)
    return subprocess.run(command() + args, env=env, capture_output=True, timeout=timeout, **kw)


def start(args: list[str], server: HelpSpaceServer) -> subprocess.Popen:
    return subprocess.Popen(command() + args, env=cli_env(server), stdout=subprocess.PIPE, stderr=subprocess.PIPE)

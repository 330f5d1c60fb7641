"""Run the real command in a subprocess, as a user would.

The subprocess runs `python -m pipelines.cli` (the same `main` as the `helpspace`
script) with this tree first on its path, so the tests always exercise the code they
sit beside, even when an editable install points at another checkout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
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


def wait_until(condition: Callable[[], bool], *, timeout: float = 60, what: str = "progress") -> None:
    """Wait for observable progress (not for a fixed time), so a slow machine only makes a test slower."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        time.sleep(0.02)


def served(server: HelpSpaceServer, requests: int) -> Callable[[], bool]:
    """True once the server has answered at least `requests` requests."""
    return lambda: server.realism.stats["requests"] >= requests

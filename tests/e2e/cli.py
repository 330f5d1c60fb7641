"""Run the real `helpspace` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Any

from helpspace_async.testing import HelpSpaceServer


def command() -> list[str]:
    exe = shutil.which("helpspace")
    return [exe] if exe else [sys.executable, "-m", "pipelines.cli"]


def cli_env(server: HelpSpaceServer | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPSPACE_")}
    if server is not None:
        env.update(server.env)
    env.update(extra)
    return env


def run(args: list[str], server: HelpSpaceServer | None = None, *, timeout: float = 120, **kw: Any) -> subprocess.CompletedProcess:
    return subprocess.run(
        command() + args, env=kw.pop("env", None) or cli_env(server), capture_output=True, timeout=timeout, **kw
    )


def start(args: list[str], server: HelpSpaceServer) -> subprocess.Popen:
    return subprocess.Popen(command() + args, env=cli_env(server), stdout=subprocess.PIPE, stderr=subprocess.PIPE)

"""The embedded server in its own process, so it never shares a core's loop with the client."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def server(**options: object) -> Iterator[dict[str, str]]:
    """Start `helpspace serve` with options; yield its HELPSPACE_* environment."""
    args = [sys.executable, "-m", "pipelines.cli", "serve", "--port", "0"]
    for key, value in options.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    env: dict[str, str] = {}
    deadline = time.monotonic() + 300
    try:
        while len(env) < 3:
            line = proc.stdout.readline() if proc.stdout else ""
            if not line:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start")
                continue
            key, _, value = line.removeprefix("export ").strip().partition("=")
            env[key] = value
        yield env
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def child_env(env: dict[str, str]) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("HELPSPACE_")}, **env}

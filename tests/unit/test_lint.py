"""ruff and mypy are part of the suite, so a lint or type error fails CI like any other test."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tool(name: str) -> list[str]:
    found = shutil.which(name)
    return [found] if found else [sys.executable, "-m", name]


def test_ruff_is_clean():
    done = subprocess.run(_tool("ruff") + ["check", str(ROOT)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("package, flags", [("helpspace_async", ["--strict"]), ("pipelines", [])])
def test_types_check(package, flags):
    """The client passes `mypy --strict` (users' type checkers read its hints: py.typed); the pipelines plain mypy."""
    done = subprocess.run(_tool("mypy") + flags + [package], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hints_are_shipped():
    assert (ROOT / "helpspace_async" / "py.typed").exists() and (ROOT / "pipelines" / "py.typed").exists()

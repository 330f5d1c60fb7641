"""Shared test helpers: sample files and a distinctive token to hunt for in outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SECRET = "tok_SECRET_d41d8cd98f00"  # must never appear in any output


@pytest.fixture
def samples() -> Path:
    return SAMPLES


def read_http_sample(path: Path) -> tuple[int, dict[str, str], bytes]:
    """Parse a raw HTTP response sample into status, headers and body."""
    head, _, body = path.read_bytes().partition(b"\n\n")
    lines = head.decode().splitlines()
    status = int(lines[0].split()[1])
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return status, headers, body.strip()


def assert_only_probes(realism) -> None:
    """At most two 429s per rate window: the shared probes that learn its end, not one per worker.

    How many probes learning takes depends on round trips (a slow CI machine needs a few more);
    the share of 429s at full speed is a benchmark figure (bench/RESULTS.md), not asserted here.
    """
    windows = len(realism.windows)
    assert realism.stats["429"] <= 2 * windows, f"{realism.stats['429']} answers were 429 in {windows} windows"


pytest_plugins = ["pytester"]

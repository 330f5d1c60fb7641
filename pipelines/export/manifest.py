"""`PATH.manifest.json`: what an export holds and how it was made, for people and for `--reuse`."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import helpspace_async


def manifest(path: Path, fmt: str, *, count: int, digest: str, partitions: dict[str, int], filters: dict[str, Any],
             started_at: str, passes: int, order: str, completeness: list[dict[str, Any]], requests: int,
             base_url: str, problems: list[str], reuse: dict[str, Any]) -> dict[str, Any]:
    """The manifest's fields, in the order people read them."""
    return {
        "file": path.name,
        "format": fmt,
        "gzip": path.name.endswith(".gz"),
        "tickets": count,
        "sha256": digest,
        "bytes": path.stat().st_size if path.is_file() else None,
        **({"partitions": partitions} if partitions else {}),
        "filters": filters,
        "started_at": started_at,
        "finished_at": datetime.now(timezone.utc).isoformat(),
        "passes": passes,
        "listing_order": order,
        "completeness": {
            "status": "verified" if all(c["status"] == "verified" for c in completeness) else "best_effort",
            "segments": completeness,
        },
        "requests": requests,
        "base_url": base_url,
        "client": f"helpspace-async {helpspace_async.__version__}",
        **({"complete": False, "problems": problems} if problems else {}),
        **reuse,
    }

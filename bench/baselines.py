"""What users would otherwise run: the obvious sequential loops, and dlt's rest_api source."""

from __future__ import annotations

import json
import time
from pathlib import Path


def sequential_export(env: dict[str, str], out: Path, per_page: int = 50) -> tuple[int, float]:
    """An exporter written the obvious way with requests: one page after another."""
    import requests

    headers = {"Authorization": f"Bearer {env['HELPSPACE_TOKEN']}", "Hs-Client-Id": env["HELPSPACE_CLIENT_ID"]}
    url = env["HELPSPACE_BASE_URL"] + "/api/v1/tickets"
    started = time.perf_counter()
    count, page = 0, 1
    with requests.Session() as s, open(out, "w", encoding="utf-8") as fh:
        while True:
            data = s.get(url, params={"page": page, "per-page": per_page}, headers=headers, timeout=30).json()
            for ticket in data["data"]:
                fh.write(json.dumps(ticket, ensure_ascii=False) + "\n")
                count += 1
            if page >= data["meta"]["last_page"]:
                break
            page += 1
    return count, time.perf_counter() - started


def sequential_import(env: dict[str, str], records: list[dict]) -> tuple[int, float]:
    """An importer written the obvious way: POST one record after another."""
    import requests

    headers = {"Authorization": f"Bearer {env['HELPSPACE_TOKEN']}", "Hs-Client-Id": env["HELPSPACE_CLIENT_ID"]}
    url = env["HELPSPACE_BASE_URL"] + "/api/v1/tickets"
    started = time.perf_counter()
    with requests.Session() as s:
        for record in records:
            s.post(url, json=record, headers=headers, timeout=30).raise_for_status()
    return len(records), time.perf_counter() - started


def dlt_export(env: dict[str, str], folder: Path) -> tuple[int, float] | None:
    """dlt's rest_api source into JSONL files on the local filesystem; None if dlt is missing."""
    try:
        import dlt
        from dlt.sources.rest_api import rest_api_source
    except ImportError:
        return None
    source = rest_api_source({
        "client": {
            "base_url": env["HELPSPACE_BASE_URL"] + "/api/v1/",
            "auth": {"type": "bearer", "token": env["HELPSPACE_TOKEN"]},
            "headers": {"Hs-Client-Id": env["HELPSPACE_CLIENT_ID"]},
            "paginator": {"type": "page_number", "base_page": 1, "page_param": "page", "total_path": "meta.last_page"},
        },
        "resources": [{"name": "tickets", "endpoint": {"path": "tickets", "params": {"per-page": 50}, "data_selector": "data"}}],
    })
    pipeline = dlt.pipeline(
        pipeline_name=f"hsbench{int(time.time())}", pipelines_dir=str(folder / "pipelines"),
        destination=dlt.destinations.filesystem(bucket_url=(folder / "out").as_uri()), dataset_name="helpspace",
    )
    started = time.perf_counter()
    info = pipeline.run(source, loader_file_format="jsonl")
    elapsed = time.perf_counter() - started
    count = pipeline.last_trace.last_normalize_info.row_counts.get("tickets", 0) if pipeline.last_trace else 0
    del info
    return count, elapsed

"""Row formats: JSONL (lossless) and CSV (flattened, stable columns)."""

from __future__ import annotations

from pathlib import Path


def detect_format(path: str, given: str | None) -> str:
    """`--format`, else the file suffix (`.jsonl`, `.csv`, optionally followed by `.gz`)."""
    if given:
        return given
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith((".jsonl", ".ndjson", ".json")) or path == "-":
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    raise ValueError(f"cannot tell the format of {path!r}: name it .jsonl, .csv or .parquet, or pass --format")

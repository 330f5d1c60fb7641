"""Bulk pipelines: each composes `HelpSpaceClient` with a reader or a writer.

export.py      tickets -> JSONL/CSV (complete under churn, resumable)
importer.py    JSONL/CSV -> tickets (exactly once, with a journal)
formats/       JSONL and CSV rows
output.py      atomic files (.part, fsync, rename), gzip members
checkpoint.py  small JSON state written atomically
attachments.py reading and writing attachment files safely
progress.py    progress bar and summary on stderr
cli.py         the `helpspace` command
"""

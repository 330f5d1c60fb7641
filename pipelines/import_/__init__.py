"""Import tickets exactly once.

importer.py      read -> plan -> encode -> send, with a worker pool and a rejects file
reader.py        JSONL/CSV/Singer input -> rows or rejections, with line numbers
records.py       a row -> a Plan (create body, follow-ups), pure checks
encode.py        files and inline images -> base64, splitting at 5 MB
exactly_once.py  intent, create, lookup after a lost answer
journal.py       the durable record of intents and created ids
summary.py       counters, the summary line, the dry-run report
dry_run.py       the client and sender of a dry run (nothing is sent)
"""

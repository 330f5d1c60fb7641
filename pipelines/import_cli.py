"""`helpspace import tickets`: parse options, run the importer, print the summary."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from helpspace_async import ConfigurationError
from helpspace_async.protocol import TICKET_STATUSES

from .cli import EXIT_OK, EXIT_REJECTS, EXIT_USAGE, _client, _run, _say
from .importer import ImportAborted, Importer, ImportOptions
from .progress import summary


def options_from(args: argparse.Namespace) -> ImportOptions:
    status_map = {}
    if args.status_map:
        try:
            status_map = {str(k).lower(): v for k, v in json.loads(Path(args.status_map).read_text()).items()}
        except (OSError, ValueError, AttributeError) as exc:
            raise ConfigurationError(f"--status-map {args.status_map}: {exc}") from None
        bad = sorted(set(status_map.values()) - set(TICKET_STATUSES))
        if bad:
            raise ConfigurationError(f"--status-map: {', '.join(bad)} is not a HelpSpace status ({', '.join(TICKET_STATUSES)})")
    try:
        ZoneInfo(args.source_tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"--source-tz {args.source_tz!r} is not a known time zone (e.g. Europe/Berlin)") from None
    return ImportOptions(
        input=args.input, format=args.format, state=args.state, rejects=args.rejects,
        attachments_dir=args.attachments_dir, dry_run=args.dry_run, limit=args.limit, notify=args.notify,
        create_tags=not args.no_create_tags, progress=not args.no_progress, source=args.source,
        source_tz=args.source_tz, map_path=args.map_path, status_map=status_map, include_notes=args.include_notes,
        keep_links=args.keep_links, source_token=args.source_token or os.environ.get("HELPSPACE_SOURCE_TOKEN"),
    )


def cmd_import(args: argparse.Namespace) -> int:
    try:
        options = options_from(args)
    except ConfigurationError as exc:
        _say(f"error: {exc}")
        return EXIT_USAGE

    async def go() -> int:
        try:
            if options.dry_run:  # nothing is sent, so no credentials are needed
                importer = Importer(None, options)
                result = await importer.run()
                _say(f"dry run: {result.records:,} records read, {result.would_send:,} requests would be sent, "
                     f"{result.rejected:,} rejected" + (f" (see {importer.rejects_path})" if result.rejected else ""))
                _say(result.report())
                return EXIT_REJECTS if result.rejected else EXIT_OK
            async with _client(args) as client:
                importer = Importer(client, options)
                if importer.summary.source_detected and importer.source != "helpspace":
                    _say(f"detected source: {importer.source} (pass --from to choose)")
                result = await importer.run()
                _say(summary("imported", result.created, result.elapsed, client, result.line(), noun="tickets"))
        except ImportAborted as exc:
            raise ConfigurationError(str(exc)) from None
        if result.rejected:
            _say(f"{result.rejected:,} records rejected: see {importer.rejects_path} (line numbers, reasons)")
            return EXIT_REJECTS
        _say(f"journal: {importer.state_path} (rerun the same command to finish or check; nothing is created twice)")
        return EXIT_OK

    return _run(go)

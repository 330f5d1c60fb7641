"""`helpspace import tickets`: parse options, run the importer, print the summary."""

from __future__ import annotations

import argparse

from helpspace_async import ConfigurationError

from .cli import EXIT_OK, EXIT_REJECTS, _client, _run, _say
from .importer import ImportAborted, Importer, ImportOptions
from .progress import summary


def options_from(args: argparse.Namespace) -> ImportOptions:
    return ImportOptions(
        input=args.input, format=args.format, state=args.state, rejects=args.rejects,
        attachments_dir=args.attachments_dir, dry_run=args.dry_run, limit=args.limit, notify=args.notify,
        create_tags=not args.no_create_tags, progress=not args.no_progress,
    )


def cmd_import(args: argparse.Namespace) -> int:
    options = options_from(args)

    async def go() -> int:
        try:
            if options.dry_run:  # nothing is sent, so no credentials are needed
                importer = Importer(None, options)
                result = await importer.run()
                _say(f"dry run: {result.records:,} records read, {result.would_send:,} requests would be sent, "
                     f"{result.rejected:,} rejected" + (f" (see {importer.rejects_path})" if result.rejected else ""))
                return EXIT_REJECTS if result.rejected else EXIT_OK
            async with _client(args) as client:
                importer = Importer(client, options)
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

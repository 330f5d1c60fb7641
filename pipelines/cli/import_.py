"""`helpspace import tickets`: parse options, run the importer, print the summary."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from helpspace_async.protocol import TICKET_STATUSES

from ..errors import UsageError
from ..progress import summary
from . import people
from .common import (
    EXIT_OK,
    EXIT_REJECTS,
    RERUN_IMPORT,
    client_from,
    connection_args,
    keep_secret,
    run,
    say,
)

LOOKUP_OPTIONS = ("users", "agents", "groups", "fields")  # --users FILE, ...: what tickets name by id

if TYPE_CHECKING:
    from ..import_.importer import ImportOptions


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    imp = sub.add_parser("import", help="import data").add_subparsers(dest="what", required=True)
    it = imp.add_parser("tickets", help="import tickets from JSONL or CSV, exactly once")
    it.add_argument("input", help="JSONL (.gz too) or CSV file")
    it.add_argument("--format", choices=["jsonl", "csv"], help="default: from the file name")
    it.add_argument("--state", help="journal of what was created (default: INPUT.state.jsonl)")
    it.add_argument("--rejects", help="where rejected records go (default: INPUT.rejects.jsonl)")
    it.add_argument("--attachments-dir", help="folder that attachment paths are relative to (default: INPUT's folder)")
    it.add_argument("--dry-run", action="store_true", help="read, validate and encode everything; send nothing")
    it.add_argument("--limit", type=int, help="import at most N records")
    it.add_argument("--notify", action="store_true", help="let HelpSpace run rules, autoreplies and notifications")
    it.add_argument("--no-create-tags", action="store_true", help="don't create missing tags (they will be dropped)")
    src = it.add_argument_group("migrating from another helpdesk")
    src.add_argument("--from", dest="source", choices=["zendesk", "freshdesk", "helpscout", "helpspace", "generic"],
                     help="what made INPUT (default: detected from its first record, and said)")
    src.add_argument("--source-tz", help="time zone of dates without an offset, e.g. Europe/Berlin (default UTC; "
                     "required for Zendesk's CSV, which writes the account's local time)")
    src.add_argument("--map", dest="map_path", metavar="MAPPING", help="--from generic: JSON/TOML file, target field <- source path")
    src.add_argument("--status-map", metavar="FILE", help='JSON {"source status": "HelpSpace status"} overriding the built-in table')
    src.add_argument("--include-notes", action="store_true", help="import private notes as internal messages (unverified API support)")
    links = src.add_mutually_exclusive_group()
    links.add_argument("--download-attachments", dest="keep_links", action="store_false", default=False,
                       help="download attachments and inline images from the source now (default: its links expire)")
    links.add_argument("--keep-links", dest="keep_links", action="store_true", help="keep them on the source, linked from the message")
    src.add_argument("--source-token", help="the source's token, for its attachment URLs and (with --source-url) its "
                     "API [HELPSPACE_SOURCE_TOKEN]; sent only to the source's own hosts")
    src.add_argument("--users", metavar="FILE", help="the source's users/contacts (JSONL or JSON, e.g. Zendesk's users "
                     "export), to resolve requester_id, assignee_id and comment authors")
    src.add_argument("--with-people", action="store_true",
                     help="first import the source's organizations and customers found in INPUT (its streams or "
                          "side-loaded arrays) and in --users, exactly once, matched by name and email")
    src.add_argument("--agents", metavar="FILE", help="the source's agents (Freshdesk), to resolve responder_id and authors")
    src.add_argument("--groups", metavar="FILE", help="the source's groups, to resolve group_id to a team name")
    src.add_argument("--fields", metavar="FILE", help="the source's ticket fields, to tag custom fields by label")
    src.add_argument("--source-user", help="Basic auth user for the source: Zendesk 'you@acme.com/token' "
                     "(with --source-token API_TOKEN)")
    src.add_argument("--source-auth", choices=["bearer", "basic"], default="bearer",
                     help="how --source-token is sent (default bearer; --source-user implies basic; basic without "
                          "--source-user sends TOKEN:X, Freshdesk's form for an API key)")
    src.add_argument("--source-url", action="append", default=[], metavar="URL",
                     help="the source helpdesk's address (repeatable): its host may receive --source-token, "
                          "besides the source's known domains (e.g. *.zendesk.com); with a token, users, agents, "
                          "groups and fields the input lacks are fetched from the first one (cached in INPUT.source/)")
    connection_args(it)
    it.set_defaults(handler=cmd_import)
    people.add_import_parsers(imp)




def options_from(args: argparse.Namespace) -> ImportOptions:
    from ..import_.importer import ImportOptions

    status_map = {}
    if args.status_map:
        try:
            status_map = {str(k).lower(): v for k, v in json.loads(Path(args.status_map).read_text()).items()}
        except (OSError, ValueError, AttributeError) as exc:
            raise UsageError(f"--status-map {args.status_map}: {exc}") from None
        bad = sorted(set(status_map.values()) - set(TICKET_STATUSES))
        if bad:
            raise UsageError(f"--status-map: {', '.join(bad)} is not a HelpSpace status ({', '.join(TICKET_STATUSES)})")
    try:
        ZoneInfo(args.source_tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"--source-tz {args.source_tz!r} is not a known time zone (e.g. Europe/Berlin)") from None
    source_token = args.source_token or os.environ.get("HELPSPACE_SOURCE_TOKEN")
    keep_secret(source_token)
    return ImportOptions(
        input=args.input, format=args.format, state=args.state, rejects=args.rejects,
        attachments_dir=args.attachments_dir, dry_run=args.dry_run, limit=args.limit, notify=args.notify,
        create_tags=not args.no_create_tags, progress=not args.no_progress, source=args.source,
        source_tz=args.source_tz, map_path=args.map_path, status_map=status_map, include_notes=args.include_notes,
        keep_links=args.keep_links, source_token=source_token, source_urls=args.source_url,
        source_user=args.source_user, source_auth=args.source_auth,
        lookups={kind: getattr(args, kind) for kind in LOOKUP_OPTIONS if getattr(args, kind)},
    )


def _users(args: argparse.Namespace) -> Path | None:
    return Path(args.users) if args.users else None


def cmd_import(args: argparse.Namespace) -> int:
    from ..import_.dry_run import DryRunClient
    from ..import_.importer import Importer

    async def go() -> int:
        options = options_from(args)
        if options.dry_run:  # nothing is sent, so no credentials are needed
            importer = Importer(DryRunClient(), options)
            importer.notice = say
            say(f"reading {options.input} as {importer.reader.reading}")
            if args.with_people:
                from ..people.import_ import (
                    people_first,  # only then: it reads the time zone database
                )

                await people_first(None, Path(options.input), importer.source, say, users=_users(args))
            result = await importer.run()
            say(f"dry run: {result.records:,} records read, {result.would_send:,} requests would be sent, "
                f"{result.rejected:,} rejected" + (f" (see {importer.rejects_path})" if result.rejected else ""))
            say(result.report())
            return EXIT_REJECTS if result.rejected else EXIT_OK
        async with client_from(args) as client:
            importer = Importer(client, options)
            importer.notice = say
            say(f"reading {options.input} as {importer.reader.reading}")
            if importer.summary.source_detected and importer.source != "helpspace":
                say(f"detected source: {importer.source} (pass --from to choose)")
            people_rejected = 0
            if args.with_people:
                from ..people.import_ import people_first

                people_rejected = await people_first(client, Path(options.input), importer.source, say, users=_users(args))
            result = await importer.run()
            say(summary("imported", result.created, result.elapsed, client, result.line(), noun="tickets"))
        if result.rejected or people_rejected:
            if result.rejected:
                say(f"{result.rejected:,} records rejected: see {importer.rejects_path} (line numbers, reasons)")
            return EXIT_REJECTS
        say(f"journal: {importer.state_path} (rerun the same command to finish or check; nothing is created twice)")
        return EXIT_OK

    return run(go, rerun=RERUN_IMPORT)

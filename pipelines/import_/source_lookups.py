"""What the records name by id and the input doesn't describe, asked of the source's API.

Users, agents, groups and fields (and Help Scout threads of conversations listed without
them) are fetched only when `--source-url` and credentials are given, only for the kinds
the records need and the input lacks: a list once per run, an id shown by id once; the
answers are cached beside the input so a rerun reads them instead of asking again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from ..fetch import SourceFetcher
from ..sources import api as source_api
from .reader import RecordReader


class SourceLookups:
    """Adds to the reader's index what the source's API says about the ids records left unresolved."""

    def __init__(self, fetcher: SourceFetcher, reader: RecordReader, base_url: str | None, input_path: Path,
                 say: Callable[[str], None]) -> None:
        self.fetcher = fetcher
        self.reader = reader
        self.source = reader.source
        self.base_url = base_url  # None: no --source-url or no credentials, nothing is asked
        self.cache = source_api.cache_folder(input_path)
        self._asked: dict[str, set[str] | None] = {}  # kind -> ids asked for (None: the whole list), whatever the answer
        self.say = say  # what was fetched, read from the cache, or refused

    async def add_missing(self, needs: dict[str, set[str]]) -> bool:
        """Fetch what `needs` (unresolved what -> ids) calls for; True when the index gained something."""
        endpoints = source_api.ENDPOINTS.get(self.source, {})
        if not needs or self.base_url is None or not endpoints:
            return False
        children = source_api.CHILDREN.get(self.source)
        if children and needs.get(children[0]) and children[0] not in self._asked:
            self._asked[children[0]] = None
            path = await source_api.fetch_children(self.fetcher, self.source, self.base_url, needs[children[0]],
                                                   self.cache, self.say)
            if path is not None:
                await asyncio.to_thread(self.reader.add_children, children[2], path)
                return True
        wanted = self._not_yet_asked(source_api.named_ids(self.source, needs), endpoints)
        if not wanted:
            return False
        files = await source_api.fetch_lookups(self.fetcher, self.source, self.base_url, wanted, self.cache, self.say)
        await asyncio.to_thread(self.reader.add_lookups, files)
        return bool(files)

    def _not_yet_asked(self, named: dict[str, set[str]], endpoints: dict[str, str]) -> dict[str, set[str]]:
        """Kind -> ids to ask for now. A kind the input describes is not asked; a listed kind is
        asked once; a kind shown by id is asked only for ids not asked before (a later pass can
        name more: the authors of threads fetched meanwhile, a record that failed earlier)."""
        have = self.reader.lookup_counts()
        wanted: dict[str, set[str]] = {}
        for kind, ids in sorted(named.items()):
            asked = self._asked.get(kind, set())
            if kind not in endpoints or asked is None or (have.get(kind) and kind not in self._asked):
                continue
            if not source_api.shown_by_id(self.source, kind, ids):
                wanted[kind], self._asked[kind] = ids, None
            elif ids - asked:
                wanted[kind], self._asked[kind] = ids - asked, asked | ids
        return wanted

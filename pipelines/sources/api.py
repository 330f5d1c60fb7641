"""Users, agents, groups and fields read from the source helpdesk's own API, when the input
doesn't carry them: fetched once per kind, every page (or, where the source shows records by
id, only those named), and cached on disk beside the input so a rerun reads the cache
(delete the folder to fetch again).

Endpoints and paging, as each helpdesk documents them:
- Zendesk: `/api/v2/users.json` etc., cursor pages (`meta.has_more`, `links.next`) or the
  older `next_page`; `/api/v2/users/show_many.json?ids=` for up to 100 users by id;
- Freshdesk: `/api/v2/contacts` etc., a JSON array per page, the next in the Link header;
- Help Scout (`https://api.helpscout.net`): `/v2/customers` etc., records in `_embedded`,
  the next page in `_links.next.href`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import orjson

from helpspace_async import HelpSpaceError

from ..fetch import SourceFetcher
from .common import dig

ENDPOINTS: dict[str, dict[str, str]] = {  # source -> lookup kind -> first page
    "zendesk": {"users": "/api/v2/users.json?page[size]=100", "groups": "/api/v2/groups.json?page[size]=100",
                "fields": "/api/v2/ticket_fields.json", "organizations": "/api/v2/organizations.json?page[size]=100"},
    "freshdesk": {"users": "/api/v2/contacts?per_page=100", "agents": "/api/v2/agents?per_page=100",
                  "groups": "/api/v2/groups?per_page=100", "fields": "/api/v2/ticket_fields",
                  "organizations": "/api/v2/companies?per_page=100"},
    "helpscout": {"users": "/v2/customers", "agents": "/v2/users", "groups": "/v2/teams"},
}
# source -> what a record left unresolved -> the kinds that resolve it
NEEDS: dict[str, dict[str, tuple[str, ...]]] = {
    "zendesk": {"requester": ("users",), "assignee": ("users",), "author": ("users",), "group": ("groups",),
                "field": ("fields",)},
    "freshdesk": {"requester": ("users",), "assignee": ("agents",), "author": ("users", "agents"),
                  "group": ("groups",), "field": ("fields",)},
    "helpscout": {"requester": ("users",), "assignee": ("agents",), "author": ("agents",), "group": ("groups",)},
}
# source -> kind -> the records named by id, IDS_PER_CALL at a time: a huge account's users are
# not all listed to resolve the few thousand a migration names (Zendesk's Show Many Users)
BY_IDS: dict[str, dict[str, str]] = {"zendesk": {"users": "/api/v2/users/show_many.json?ids={ids}"}}
IDS_PER_CALL = 100
MAX_PAGES = 100_000  # a source that pages forever is stopped, not followed


def shown_by_id(source: str, kind: str, ids: set[str]) -> bool:
    """Whether these ids can be asked for by id (numeric ids, an endpoint for it), not by listing all."""
    return kind in BY_IDS.get(source, {}) and bool(ids) and all(i.isdigit() for i in ids)


def named_ids(source: str, needs: dict[str, set[str]]) -> dict[str, set[str]]:
    """Lookup kind -> the ids that records left unresolved and that kind would resolve."""
    named: dict[str, set[str]] = {}
    for what, ids in needs.items():
        for kind in NEEDS.get(source, {}).get(what, ()):
            named.setdefault(kind, set()).update(ids)
    return named


def page_records(body: Any) -> list[dict[str, Any]]:
    """The records of one page: a bare array (Freshdesk), the first array of the document
    (Zendesk's `users`, `ticket_fields`), or `_embedded`'s (Help Scout)."""
    if isinstance(body, list):
        return [r for r in body if isinstance(r, dict)]
    if not isinstance(body, dict):
        return []
    embedded = body.get("_embedded")
    for holder in (embedded, body) if isinstance(embedded, dict) else (body,):
        for value in holder.values():
            if isinstance(value, list):
                return [r for r in value if isinstance(r, dict)]
    return []


def next_page(body: Any, link_next: str | None) -> str | None:
    """The next page's URL, whichever way the source says it."""
    if link_next:
        return link_next
    if not isinstance(body, dict):
        return None
    if dig(body, "meta.has_more") is not None:
        return dig(body, "links.next") if dig(body, "meta.has_more") else None
    found = body.get("next_page") or dig(body, "_links.next.href")
    return found if isinstance(found, str) and found else None


def cache_folder(input_path: Path) -> Path:
    return input_path.with_name(input_path.name + ".source")


class SourceAPIFailed(Exception):
    """A page the source's API did not give (a status, a network failure, not JSON)."""


def endpoint(base_url: str, path: str) -> str:
    """`https://acme.zendesk.com` + `/api/v2/users.json` (a base with a path keeps it)."""
    return urljoin(base_url.rstrip("/") + "/", path.lstrip("/"))


async def every_page(fetcher: SourceFetcher, url: str) -> AsyncIterator[Any]:
    """Each page's JSON body, following the source's next links (whichever way it says them);
    a link seen before, or MAX_PAGES of them, ends the walk."""
    seen: set[str] = set()
    next_url: str | None = url
    while next_url and len(seen) < MAX_PAGES and next_url not in seen:
        seen.add(next_url)
        shown = next_url.split("?", 1)[0]  # a query string may carry a signature: never printed
        try:
            got = await fetcher.get(next_url, counted=False)
            body = orjson.loads(got.data)
        except HelpSpaceError as exc:
            raise SourceAPIFailed(f"{shown}: {exc}") from None
        except orjson.JSONDecodeError:
            raise SourceAPIFailed(f"{shown} answered something other than JSON") from None
        yield body
        following = next_page(body, got.next_url)
        next_url = urljoin(next_url, following) if following else None


async def fetch_lookups(fetcher: SourceFetcher, source: str, base_url: str, named: dict[str, set[str]], cache: Path,
                        say: Callable[[str], None]) -> dict[str, Path]:
    """Each kind's records as a JSONL file in `cache` (kept for reruns); kind -> file. `named`
    holds the ids records left unresolved, per kind: where the source can show records by id,
    only those are asked for; otherwise the whole list. A kind the API doesn't give is said and
    left out: its ids stay unresolved, and the report lists them."""
    cache.mkdir(parents=True, exist_ok=True)
    found: dict[str, Path] = {}
    for kind, ids in named.items():
        listed, shown = cache / f"{kind}.jsonl", cache / f"{kind}-by-id.jsonl"  # the whole list; those asked by id
        try:
            if listed.exists():
                say(f"{kind}: read from the cache {listed} (delete it to fetch again)")
            elif shown_by_id(source, kind, ids):
                asked, cached = await _fetch_named(fetcher, endpoint(base_url, BY_IDS[source][kind]), ids, shown)
                say(f"{kind}: {asked:,} of the {len(ids):,} named asked of the source API"
                    + (f", {cached:,} read from the cache {shown}" if cached else f", cached in {shown}"))
            else:
                count = await _fetch_kind(fetcher, endpoint(base_url, ENDPOINTS[source][kind]), listed)
                say(f"{kind}: {count:,} fetched from the source API, cached in {listed}")
        except SourceAPIFailed as exc:
            say(f"warning: {kind} not fetched: {exc}; check --source-url and the credentials (--source-token, "
                f"--source-user, --source-auth), or give them as a file (--{kind} FILE)")
        for path in (listed, shown):  # the whole list when there is one
            if path.exists():
                found[kind] = path
                break
    return found


async def _fetch_named(fetcher: SourceFetcher, url_of: str, ids: set[str], path: Path) -> tuple[int, int]:
    """The records with these ids, IDS_PER_CALL a call, appended to `path` (what it already holds
    is not asked again, so an interrupted fetch goes on where it stopped; ids the source doesn't
    know are asked again on a rerun, a call per hundred); (asked, from the cache)."""
    have: set[str] = set()
    if path.exists():
        held = path.read_bytes()
        whole = held[:held.rfind(b"\n") + 1]  # a line cut short by a killed run is dropped, then asked again
        if whole != held:
            path.write_bytes(whole)
        have = {str(orjson.loads(line).get("id")) for line in whole.splitlines() if line.strip()}
    missing = sorted(ids - have, key=int)
    with open(path, "ab") as out:
        for start in range(0, len(missing), IDS_PER_CALL):
            chunk = ",".join(missing[start:start + IDS_PER_CALL])
            async for body in every_page(fetcher, url_of.replace("{ids}", chunk)):
                out.write(b"".join(orjson.dumps(record) + b"\n" for record in page_records(body)))
                out.flush()
    return len(missing), len(ids & have)


async def _fetch_kind(fetcher: SourceFetcher, url: str, path: Path) -> int:
    """Every page of one list into `path` (written whole, then renamed: a half list is never cached)."""
    part = path.with_name(path.name + ".part")
    count = 0
    try:
        with open(part, "wb") as out:
            async for body in every_page(fetcher, url):
                for record in page_records(body):
                    out.write(orjson.dumps(record) + b"\n")
                    count += 1
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    part.replace(path)
    return count


TICKET_ATTACHMENTS: dict[str, tuple[str, ...]] = {  # source -> where a ticket's attachments are read again
    "freshdesk": ("/api/v2/tickets/{id}", "/api/v2/tickets/{id}/conversations?per_page=100"),
    "zendesk": ("/api/v2/tickets/{id}/comments.json",),
}
REFRESH_CACHE = 64  # tickets whose fresh links are kept (their attachments are fetched one after another)


def attachment_urls(body: Any) -> dict[str, str]:
    """Attachment id -> URL anywhere in a ticket, conversation or comment document."""
    found: dict[str, str] = {}
    stack = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            url = item.get("attachment_url") or item.get("content_url")
            if item.get("id") is not None and isinstance(url, str):
                found[str(item["id"])] = url
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
    return found


class LinkRefresher:
    """Expired pre-signed attachment links (Freshdesk's last minutes), renewed by reading the
    ticket again from the source's API: the answer carries freshly signed links."""

    def __init__(self, fetcher: SourceFetcher, source: str, base_url: str) -> None:
        self.fetcher = fetcher
        self.paths = TICKET_ATTACHMENTS.get(source, ())
        self.base_url = base_url
        self._fresh: dict[str, dict[str, str]] = {}  # ticket id -> attachment id -> url

    async def fresh_url(self, ticket_id: str, attachment_id: str) -> str | None:
        """A newly signed link for this attachment; None when the source can't say."""
        if not self.paths:
            return None
        if ticket_id not in self._fresh:
            urls: dict[str, str] = {}
            for path in self.paths:
                try:
                    async for body in every_page(self.fetcher, endpoint(self.base_url, path.format(id=ticket_id))):
                        urls.update(attachment_urls(body))
                except SourceAPIFailed:
                    continue  # what the other path gave still counts
            if len(self._fresh) >= REFRESH_CACHE:
                self._fresh.pop(next(iter(self._fresh)))
            self._fresh[ticket_id] = urls
        return self._fresh[ticket_id].get(attachment_id)


# source -> (what a record lacks, the per-parent endpoint, the child stream, the parent key it carries)
CHILDREN: dict[str, tuple[str, str, str, str]] = {
    "helpscout": ("thread", "/v2/conversations/{id}/threads", "conversation_threads", "conversation_id"),
}


async def fetch_children(fetcher: SourceFetcher, source: str, base_url: str, parent_ids: set[str], cache: Path,
                         say: Callable[[str], None]) -> Path | None:
    """Children the export left out (Help Scout threads of conversations listed without
    them), one parent at a time, every page; appended to `cache/<what>.jsonl`, which a rerun
    reads instead of asking again. None when the source has no such endpoint."""
    if source not in CHILDREN:
        return None
    what, path_of, _, parent_key = CHILDREN[source]
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{what}s.jsonl"
    have = set()
    if path.exists():
        have = {str(orjson.loads(line).get(parent_key)) for line in path.read_bytes().splitlines() if line.strip()}
    missing = sorted(parent_ids - have)
    failed = 0
    with open(path, "ab") as out:
        for parent in missing:
            records: list[dict[str, Any]] = []
            try:
                async for body in every_page(fetcher, endpoint(base_url, path_of.format(id=parent))):
                    records += page_records(body)
            except SourceAPIFailed:
                failed += 1
                continue  # its record stays rejected, saying how to export it
            out.write(b"".join(orjson.dumps({**r, parent_key: r.get(parent_key) or parent}) + b"\n" for r in records))
    say(f"{what}s: fetched for {len(missing) - failed:,} of {len(parent_ids):,} from the source API "
        f"({len(parent_ids) - len(missing):,} from the cache {path})" + (f"; {failed:,} failed" if failed else ""))
    return path

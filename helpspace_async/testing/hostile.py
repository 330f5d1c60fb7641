"""Hostile modes of the embedded server: the ways a proxy, a misconfigured account or a
compromised API can answer. Each is off by default; tests switch them on one at a time.

    foreign_media      attachment URLs point at another origin (a CDN, or an attacker)
    redirect_to        ticket listings answer 302 to another origin
    echo_secrets       error answers quote the request's Authorization and Hs-Client-Id
    evil_ids           ticket 1's id is a path; odd attachment ids are paths; names are 160
                       CJK characters (480 bytes); the first message's attachments are listed
                       again on the second
    endless_pages      ticket listings claim last_page = 1,000,000,000 (pages past the end are empty)
    same_page_forever  ticket listings answer page 1 whatever page is asked, and claim no end
    gzip_bomb_mb       listings and messages answer a gzip body that expands to this many MB
    huge_attachment_mb attachment downloads stream this many MB
    create_answer      "no-id": a create is made, answered 201 without an id; "not-json": 200 HTML
    bad_shapes         ticket listings carry a status `../../escaped`, a created_at that is a path,
                       tags as a string, an id `true` and an item that is not an object
    alternating_pages  page n of a ticket listing answers page 1 or 2 (A, B, A, B, ...), claiming no end
    media_answer       attachment downloads answer "html" (a 200 login page), "json" (a 200 error
                       document), "partial" (206 with half the bytes), "empty" (204) or "short"
                       (200 with half the bytes)
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LISTINGS = ("/api/v1/tickets",)
NAME = "图" * 160 + ".png"


@dataclass
class Hostility:
    foreign_media: str | None = None
    redirect_to: str | None = None
    echo_secrets: bool = False
    evil_ids: bool = False
    endless_pages: bool = False
    same_page_forever: bool = False
    gzip_bomb_mb: int = 0
    huge_attachment_mb: int = 0
    create_answer: str | None = None
    bad_shapes: bool = False
    alternating_pages: bool = False
    media_answer: str | None = None


@lru_cache(maxsize=4)
def gzip_bomb(megabytes: int) -> bytes:
    """A gzip stream of about 1 KB per MB that expands to `megabytes` MB of spaces."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b" " * (1 << 20)
    return b"".join([squeeze.compress(chunk) for _ in range(megabytes)] + [squeeze.flush()])


def _json_of(response: web.StreamResponse) -> Any:
    body = response.body if isinstance(response, web.Response) else None
    return orjson.loads(body) if isinstance(body, (bytes, bytearray)) and body[:1] == b"{" else None


def _with_json(response: web.StreamResponse, data: Any) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=response.status, content_type="application/json")


def middleware(hostility: Hostility) -> Any:
    """The aiohttp middleware that applies `hostility` around the real handlers."""

    @web.middleware
    async def hostile(request: web.Request, handler: Handler) -> web.StreamResponse:
        h = hostility
        path = request.path
        if request.method == "GET" and path in LISTINGS:
            if h.redirect_to:
                raise web.HTTPFound(h.redirect_to + request.path_qs)
            if h.same_page_forever:
                request = request.clone(rel_url=request.rel_url.update_query(page="1"))
            if h.alternating_pages:
                page = int(request.query.get("page", "1") or 1)
                request = request.clone(rel_url=request.rel_url.update_query(page=str(2 - page % 2)))
        if request.method == "GET" and h.gzip_bomb_mb and (path in LISTINGS or path.endswith("/messages")):
            return web.Response(body=gzip_bomb(h.gzip_bomb_mb), headers={"Content-Encoding": "gzip"},
                                content_type="application/json")
        if request.method == "GET" and h.huge_attachment_mb and path.startswith("/api/v1/media/attachment/"):
            return await _stream_zeros(request, h.huge_attachment_mb)
        response = await handler(request)
        if h.media_answer and request.method == "GET" and path.startswith("/api/v1/media/attachment/"):
            return _fake_file(h.media_answer, response)
        if h.echo_secrets and response.status >= 400:
            echoed = f"{request.headers.get('Authorization')} / {request.headers.get('Hs-Client-Id')}"
            kept = {k: v for k, v in response.headers.items() if k.lower().startswith(("x-ratelimit", "retry-after"))}
            return web.json_response({"message": f"Request rejected. Headers: {echoed}",
                                      "errors": {"auth": [echoed]}}, status=response.status, headers=kept)
        if request.method == "POST" and path == "/api/v1/tickets" and response.status == 201 and h.create_answer:
            if h.create_answer == "not-json":
                return web.Response(status=200, text="<html><body>Thanks!</body></html>", content_type="text/html")
            return web.json_response({"data": {"status": "created"}}, status=201)
        data = _json_of(response)
        if data is None:
            return response
        if path in LISTINGS and request.method == "GET":
            return _with_json(response, _listing(h, data))
        if path.endswith("/messages") and request.method == "GET":
            return _with_json(response, _messages(h, data))
        return response

    return hostile


def _listing(h: Hostility, data: dict[str, Any]) -> dict[str, Any]:
    meta = data.get("meta") or {}
    if h.endless_pages or h.same_page_forever or h.alternating_pages:
        meta["last_page"] = 1_000_000_000
    if h.same_page_forever or h.alternating_pages:
        meta["total"] = 1_000_000_000 * int(meta.get("per_page") or 50)
    if h.evil_ids:
        for ticket in data.get("data") or []:
            if ticket.get("id") == 1:
                ticket["id"] = "../../../evil-1"
    if h.bad_shapes:
        spoilt = {1: ("status", "../../../../escaped"), 2: ("created_at", "../../x/2024-01-01"),
                  3: ("tags", "a,b"), 4: ("id", True)}
        for ticket in data.get("data") or []:
            if ticket.get("id") in spoilt:
                name, value = spoilt[ticket["id"]]
                ticket[name] = value
        if data.get("data"):
            data["data"].append("not an object")
    return data


def _messages(h: Hostility, data: dict[str, Any]) -> dict[str, Any]:
    messages = data.get("data") or []
    for message in messages:
        for att in message.get("attachments") or []:
            if h.huge_attachment_mb:
                att["size"] = h.huge_attachment_mb << 20  # the API announces the big file it then sends
            if h.foreign_media:
                att["url"] = f"{h.foreign_media}/files/{att['id']}?size={att.get('size')}"  # the CDN knows the size
            if h.evil_ids:
                att["name"] = NAME
                if att["id"] % 2:
                    att["id"] = f"../../../escape-{att['id']}"
    if h.evil_ids and len(messages) >= 2 and messages[0].get("attachments"):
        messages[1]["attachments"] = list(messages[1].get("attachments") or []) + [dict(a) for a in messages[0]["attachments"]]
    return data


def _fake_file(kind: str, real: web.StreamResponse) -> web.Response:
    """What a proxy, an expired session or a broken CDN sends instead of the file."""
    body = real.body if isinstance(real, web.Response) and isinstance(real.body, (bytes, bytearray)) else b""
    if kind == "html":
        return web.Response(text="<!DOCTYPE html><html><body><form>Sign in</form></body></html>",
                            content_type="text/html")
    if kind == "json":
        return web.json_response({"message": "Unauthenticated."})
    if kind == "partial":
        return web.Response(body=bytes(body[: len(body) // 2]), status=206, content_type="application/octet-stream")
    if kind == "empty":
        return web.Response(status=204)
    return web.Response(body=bytes(body[: len(body) // 2]), content_type="application/octet-stream")


async def _stream_zeros(request: web.Request, megabytes: int) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    await response.prepare(request)
    chunk = b"\0" * (1 << 20)
    try:
        for _ in range(megabytes):
            await response.write(chunk)
    except (ConnectionError, RuntimeError):
        pass  # the client stopped reading: as it should
    return response
